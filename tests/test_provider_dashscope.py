import pytest

from generations.providers import GenerationRequest, ProviderError, ProviderSettings
from generations.providers.base import InvalidRequest
from generations.providers.dashscope import PATH, DashScopeProvider
from tests.fakes.dashscope import API_KEY, STATUS


@pytest.fixture
def provider(dashscope_server):
    dashscope_server.requests.clear()
    return DashScopeProvider(ProviderSettings(base_url=dashscope_server.url, api_key=API_KEY, timeout=5))


def req(prompt="a fox", **kw):
    return GenerationRequest(prompt=prompt, width=kw.pop("width", 1024), height=kw.pop("height", 1536), **kw)


def test_it_sends_the_documented_request(provider, dashscope_server):
    provider.generate(req(seed=42, prompt_extend=False))
    sent = dashscope_server.requests[-1]
    assert sent["path"] == PATH
    assert sent["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert sent["body"] == {
        "model": "z-image-turbo",
        "input": {"messages": [{"role": "user", "content": [{"text": "a fox"}]}]},
        "parameters": {"size": "1024*1536", "prompt_extend": False, "seed": 42},
    }


def test_it_parses_the_success_body(provider):
    result = provider.generate(req(seed=7, prompt_extend=True))
    assert result.image_url.startswith(provider.base_url + "/images/")
    assert (result.width, result.height, result.seed) == (1024, 1536, 7)
    assert result.rewritten_prompt == "rewritten: a fox"
    assert result.reasoning == "thinking about a fox"
    assert result.request_id.startswith("r-")
    assert result.url_expires_at is not None


def test_it_keeps_no_rewritten_prompt_without_prompt_extend(provider):
    assert provider.generate(req(prompt_extend=False)).rewritten_prompt == ""


@pytest.mark.parametrize("code", sorted(STATUS))
def test_it_maps_every_documented_error(provider, code):
    with pytest.raises(ProviderError) as info:
        provider.generate(req(prompt=f"x [error:{code}]"))
    err = info.value
    assert err.code == code
    assert f"fake {code}" in err.message and len(err.message) > len(f"fake {code}") + 5
    retryable = STATUS[code] in (408, 500) or code in {
        "Throttling",
        "Throttling.RateQuota",
        "Throttling.BurstRate",
    }
    assert err.retryable is retryable


def test_it_says_the_key_is_bad(dashscope_server):
    bad = DashScopeProvider(ProviderSettings(base_url=dashscope_server.url, api_key="nope"))
    with pytest.raises(ProviderError) as info:
        bad.generate(req())
    assert (info.value.code, info.value.retryable) == ("InvalidApiKey", False)


def test_it_treats_html_and_missing_images_as_permanent_errors(provider):
    for marker in ("[garbage]", "[noimage]"):
        with pytest.raises(ProviderError) as info:
            provider.generate(req(prompt=f"x {marker}"))
        assert info.value.code == "BadResponse" and not info.value.retryable


def test_it_retries_timeouts_and_dropped_connections(dashscope_server):
    slow = DashScopeProvider(ProviderSettings(base_url=dashscope_server.url, api_key=API_KEY, timeout=0.2))
    with pytest.raises(ProviderError) as info:
        slow.generate(req(prompt="x [slow:1]"))
    assert (info.value.code, info.value.retryable) == ("Timeout", True)
    dead = DashScopeProvider(ProviderSettings(base_url="http://127.0.0.1:9", api_key=API_KEY))
    with pytest.raises(ProviderError) as info:
        dead.generate(req())
    assert (info.value.code, info.value.retryable) == ("ConnectionError", True)


def test_it_picks_the_region_endpoint():
    sg = DashScopeProvider(ProviderSettings(api_key="k", region="singapore"))
    assert sg.base_url == "https://dashscope-intl.aliyuncs.com"
    assert DashScopeProvider(ProviderSettings(api_key="k")).base_url == "https://dashscope.aliyuncs.com"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"width": 2048, "height": 2304}, "2048 x 2304 = 4.72 MP is above this provider's 4.19 MP limit"),
        ({"width": 256, "height": 256}, "below this provider's 0.26 MP minimum"),
        ({"prompt": "x" * 801}, "801 characters; this provider takes at most 800"),
        ({"seed": 2**31}, "seed must be between 0 and 2147483647"),
    ],
)
def test_it_names_the_limit_a_request_breaks(kwargs, message):
    with pytest.raises(InvalidRequest, match=message):
        DashScopeProvider.capabilities.validate(req(**kwargs))
