from datetime import UTC, datetime, timedelta

import pytest

from generations.providers import GenerationRequest, InvalidRequest, ProviderError, ProviderSettings
from generations.providers.openai_compat import PATH, OpenAICompatProvider
from generations.providers.registry import get_provider
from tests.fakes.openai_compat import API_KEY, image_key
from tests.fakes.server import png_bytes


@pytest.fixture
def server(fake_servers):
    fake_servers["openai_compat"].reset()
    return fake_servers["openai_compat"]


@pytest.fixture
def provider(server):
    return OpenAICompatProvider(ProviderSettings(base_url=server.url, api_key=API_KEY, timeout=5))


def req(prompt="a cat on a windowsill", **kw):
    return GenerationRequest(prompt=prompt, width=kw.pop("width", 1024), height=kw.pop("height", 1536), **kw)


def test_it_sends_the_documented_request(provider, server):
    provider.generate(req(seed=42, prompt_extend=True))
    sent = server.requests[-1]
    assert (sent["method"], sent["path"]) == ("POST", PATH)
    assert sent["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert sent["body"] == {
        "model": "z-image-turbo",
        "prompt": "a cat on a windowsill",
        "size": "1024x1536",
        "n": 1,
        "response_format": "url",
        "parameters": {"prompt_extend": True, "seed": 42},
    }


def test_it_reuses_its_connection_and_sends_a_rotated_key(provider, server):
    provider.generate(req())
    provider.generate(req())
    first, second = server.requests[-2:]
    assert first["port"] == second["port"]  # one kept-alive connection, no new handshake
    rotated = OpenAICompatProvider(ProviderSettings(base_url=server.url, api_key="sk-rotated", timeout=5))
    with pytest.raises(ProviderError):  # the fake knows only API_KEY: the new key was sent
        rotated.generate(req())
    assert server.requests[-1]["headers"]["Authorization"] == "Bearer sk-rotated"
    provider.generate(req())
    assert server.requests[-1]["headers"]["Authorization"] == f"Bearer {API_KEY}"


def test_it_parses_a_url_answer(provider):
    result = provider.generate(req(seed=7, prompt_extend=True))
    assert result.image_url.startswith(provider.base_url + "/images/") and not result.image_bytes
    assert result.rewritten_prompt == "revised: a cat on a windowsill"
    assert result.reasoning == "thinking about a cat on a windowsill"
    assert result.request_id.startswith("req_") and result.seed == 7
    # OpenAI documents 60 minutes for its URLs.
    assert abs(result.url_expires_at - datetime.now(UTC) - timedelta(hours=1)) < timedelta(minutes=1)


def test_it_keeps_nothing_extra_without_prompt_extend(provider, server):
    result = provider.generate(req())
    assert (result.rewritten_prompt, result.reasoning) == ("", "")
    assert "seed" not in server.requests[-1]["body"]["parameters"]


def test_it_asks_for_and_decodes_b64_json_when_configured(provider, server, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPAT_RESPONSE_FORMAT", "b64_json")
    result = provider.generate(req(seed=3))
    assert server.requests[-1]["body"]["response_format"] == "b64_json"
    assert result.image_bytes == png_bytes(1024, 1536, image_key("a cat on a windowsill", 1024, 1536, 3))
    assert (result.image_url, result.url_expires_at) == ("", None)  # bytes never expire


def test_it_refuses_an_unknown_response_format(provider, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPAT_RESPONSE_FORMAT", "jpeg")
    with pytest.raises(InvalidRequest, match="url, b64_json"):
        provider.generate(req())


@pytest.mark.django_db
def test_it_takes_model_and_base_url_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("OPENAI_COMPAT_BASE_URL", server.url + "/v1")  # as the OpenAI SDK has it
    monkeypatch.setenv("OPENAI_COMPAT_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_COMPAT_MODEL", "Tongyi-MAI/Z-Image-Turbo")
    provider = get_provider("openai_compat")
    assert provider.base_url == server.url and provider.unavailable_reason() == ""
    provider.generate(req())
    assert server.requests[-1]["path"] == PATH
    assert server.requests[-1]["body"]["model"] == "Tongyi-MAI/Z-Image-Turbo"


@pytest.mark.django_db
def test_it_is_unavailable_without_a_base_url_or_key(monkeypatch):
    assert "OPENAI_COMPAT_API_KEY" in get_provider("openai_compat").unavailable_reason()
    monkeypatch.setenv("OPENAI_COMPAT_API_KEY", "k")
    assert "OPENAI_COMPAT_BASE_URL" in get_provider("openai_compat").unavailable_reason()


@pytest.mark.parametrize(
    "marker, code, retryable, words",
    [
        ("[error:rate_limit_exceeded]", "rate_limit_exceeded", True, "rate limiting"),
        ("[error:insufficient_quota]", "insufficient_quota", False, "quota is used up"),
        ("[error:content_policy_violation]", "content_policy_violation", False, "moderation"),
        ("[error:invalid_request]", "invalid_request_error", False, "rejected the request"),
        ("[error:permission_error]", "permission_error", False, "may not use this model"),
        ("[error:service_unavailable]", "service_unavailable", True, "internal error"),
    ],
)
def test_it_tells_a_rate_limit_from_a_used_up_quota(provider, marker, code, retryable, words):
    with pytest.raises(ProviderError) as info:
        provider.generate(req(prompt=f"x {marker} [retry_after:7]"))
    err = info.value
    assert (err.code, err.retryable) == (code, retryable)
    assert words in err.message and f"(fake {code})" in err.message
    assert err.retry_after == 7


def test_it_calls_an_empty_data_list_a_bad_response(provider):
    with pytest.raises(ProviderError) as info:
        provider.generate(req(prompt="x [noimage]"))
    assert (info.value.code, info.value.retryable) == ("BadResponse", False)


def test_it_validates_against_the_seed_limits():
    caps = OpenAICompatProvider.capabilities
    with pytest.raises(InvalidRequest, match="4.72 MP is above this provider's 4.19 MP limit"):
        caps.validate(req(width=2048, height=2304))
    with pytest.raises(InvalidRequest, match="at most 800"):
        caps.validate(req(prompt="x" * 801))
    assert len(caps.presets) == 16 and (1024, 1536) in caps.presets
