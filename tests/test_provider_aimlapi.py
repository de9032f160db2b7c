import pytest

from generations.providers import GenerationRequest, InvalidRequest, ProviderError, ProviderSettings
from generations.providers.aimlapi import AimlApiProvider
from tests.fakes.aimlapi import API_KEY, TOKENS_USED


@pytest.fixture
def server(fake_servers):
    fake_servers["aimlapi"].reset()
    return fake_servers["aimlapi"]


@pytest.fixture
def provider(server):
    return AimlApiProvider(ProviderSettings(base_url=server.url, api_key=API_KEY, timeout=5))


def req(prompt="a T-Rex on a beach", **kw):
    return GenerationRequest(prompt=prompt, width=kw.pop("width", 1440), height=kw.pop("height", 512), **kw)


def test_it_sends_the_documented_request(provider, server):
    provider.generate(req(seed=9, steps=8))
    sent = server.requests[-1]
    assert (sent["path"], sent["headers"]["Authorization"]) == ("/v1/images/generations", f"Bearer {API_KEY}")
    assert sent["body"] == {
        "model": "alibaba/z-image-turbo",
        "prompt": "a T-Rex on a beach",
        "image_size": {"width": 1440, "height": 512},
        "output_format": "png",
        "num_images": 1,
        "enable_prompt_expansion": False,
        "seed": 9,
        "num_inference_steps": 8,
    }


def test_it_always_says_whether_to_expand_the_prompt(provider, server):
    # Upstream expands (and bills more) unless told not to.
    provider.generate(req())
    assert server.requests[-1]["body"]["enable_prompt_expansion"] is False
    provider.generate(req(prompt_extend=True))
    assert server.requests[-1]["body"]["enable_prompt_expansion"] is True
    assert "seed" not in server.requests[-1]["body"]


def test_it_keeps_the_tokens_used(provider):
    result = provider.generate(req(seed=1))
    assert result.cost == {"tokens_used": TOKENS_USED}
    assert result.image_url.startswith(provider.base_url + "/images/") and result.seed == 1


def test_it_defaults_to_the_public_endpoint():
    assert AimlApiProvider(ProviderSettings(api_key="k")).base_url == "https://api.aimlapi.com"


def test_it_reads_flat_error_bodies(provider):
    with pytest.raises(ProviderError) as info:
        provider.generate(req(prompt="x [error:forbidden]"))
    assert (info.value.code, info.value.retryable) == ("HTTP403", False)
    assert "(fake 403)" in info.value.message


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"width": 1000, "height": 1000}, "multiples of 32; 1000 is not"),
        ({"width": 2080, "height": 512}, "between 512 and 2048"),
        ({"width": 480, "height": 1024}, "between 512 and 2048"),
        ({"seed": 0}, "seed must be between 1 and 2147483647"),
        ({"steps": 9}, "Steps must be between 1 and 8"),
        ({"prompt": "x" * 4001}, "at most 4000"),
    ],
)
def test_it_names_the_limit_a_request_breaks(kwargs, message):
    with pytest.raises(InvalidRequest, match=message):
        AimlApiProvider.capabilities.validate(req(**kwargs))


def test_its_presets_are_multiples_of_32_within_range():
    presets = AimlApiProvider.capabilities.presets
    assert (1024, 768) in presets and (1024, 1536) in presets and (1104, 1472) not in presets
    assert all(side % 32 == 0 and 512 <= side <= 2048 for size in presets for side in size)


def test_the_fake_refuses_what_the_schema_refuses(server):
    # The checks above are what keeps this from happening for real.
    lax = AimlApiProvider(ProviderSettings(base_url=server.url, api_key=API_KEY, timeout=5))
    with pytest.raises(ProviderError) as info:
        lax.generate(req(width=1000, height=1000))
    assert (info.value.code, info.value.retryable) == ("HTTP400", False)
    assert "multiple of 32" in info.value.message
