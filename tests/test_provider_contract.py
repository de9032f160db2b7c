"""One contract every registered provider keeps, each against its fake server."""

import pytest

from generations.billing import ledger
from generations.lifecycle import pipeline, services
from generations.providers import GenerationRequest, ProviderError, ProviderSettings
from generations.providers.base import aspect_ratio
from generations.providers.registry import REGISTRY
from tests.fakes import FAKES
from tests.helpers import make_image

NAMES = list(REGISTRY)
WITH_FAKE = [name for name in NAMES if name in FAKES]
ERROR_CASES = [
    (name, marker, *expected) for name in WITH_FAKE for marker, expected in FAKES[name].ERRORS.items()
]


def provider_for(name, server, **settings):
    settings = {"base_url": server.url, "api_key": FAKES[name].API_KEY, "timeout": 5, **settings}
    return REGISTRY[name](ProviderSettings(**settings))


def req_for(name, prompt="a lighthouse at dusk"):
    width, height = REGISTRY[name].capabilities.presets[0]
    return GenerationRequest(prompt=prompt, width=width, height=height)


@pytest.fixture
def fake(request, fake_servers):
    name = request.node.callspec.params["name"]
    if name not in FAKES:
        pytest.skip(f"no fake server for {name}; its own tests cover it")
    fake_servers[name].reset()
    return fake_servers[name]


@pytest.mark.parametrize("name", NAMES)
def test_it_lists_presets_that_all_validate(name):
    capabilities = REGISTRY[name].capabilities
    assert capabilities.presets, f"{name} lists no size presets"
    for width, height in capabilities.presets:
        capabilities.validate(GenerationRequest(prompt="x", width=width, height=height))
        # Every preset's ratio maps back to a preset that validates.
        w, h = capabilities.size_for(aspect_ratio(width, height))
        capabilities.validate(GenerationRequest(prompt="x", width=w, height=h))


@pytest.mark.parametrize("name", NAMES)
def test_it_makes_an_image_that_stores(name, owner, fake, fake_env):
    fake_env(name)
    width, height = REGISTRY[name].capabilities.presets[0]
    gen = services.generation_create(
        user=owner, provider=name, prompt="a lighthouse", width=width, height=height
    )
    pipeline.generation_run(generation_id=gen.pk)
    while pipeline.generation_poll(generation_id=gen.pk) is not None:
        pass
    gen.refresh_from_db()
    assert gen.status == "succeeded", gen.error_message
    assert gen.image and gen.sha256 and gen.image_bytes and gen.request_id
    assert ledger.balance(user=owner) == ledger.Balance(available=100 - gen.credits_cost, held=0)


@pytest.mark.parametrize("name, marker, code, retryable", ERROR_CASES)
def test_it_maps_each_documented_error(name, marker, code, retryable, fake):
    with pytest.raises(ProviderError) as info:
        make_image(provider_for(name, fake), req_for(name, f"a lighthouse {marker}"))
    assert (info.value.code, info.value.retryable) == (code, retryable)
    # A plain-language sentence first, the provider's own words after it.
    assert info.value.message[0].isupper() and "." in info.value.message


@pytest.mark.parametrize("name", NAMES)
def test_it_refuses_a_bad_key_permanently(name, fake):
    with pytest.raises(ProviderError) as info:
        make_image(provider_for(name, fake, api_key="wrong"), req_for(name))
    assert not info.value.retryable and "API key" in info.value.message


@pytest.mark.parametrize("name", NAMES)
def test_it_calls_an_html_page_a_permanent_bad_response(name, fake):
    with pytest.raises(ProviderError) as info:
        make_image(provider_for(name, fake), req_for(name, "x [garbage]"))
    assert (info.value.code, info.value.retryable) == ("BadResponse", False)


@pytest.mark.parametrize("name", NAMES)
def test_it_retries_timeouts_and_dropped_connections(name, fake):
    with pytest.raises(ProviderError) as info:
        make_image(provider_for(name, fake, timeout=0.2), req_for(name, "x [slow:1]"))
    assert (info.value.code, info.value.retryable) == ("Timeout", True)
    with pytest.raises(ProviderError) as info:
        make_image(provider_for(name, fake), req_for(name, "x [drop]"))
    assert (info.value.code, info.value.retryable) == ("ConnectionError", True)


@pytest.mark.parametrize("name", NAMES)
def test_it_fails_and_refunds_an_image_url_that_is_no_image(name, owner, fake, fake_env):
    fake_env(name)
    width, height = REGISTRY[name].capabilities.presets[0]
    gen = services.generation_create(
        user=owner, provider=name, prompt="x [badimage]", width=width, height=height
    )
    pipeline.generation_run(generation_id=gen.pk)
    while pipeline.generation_poll(generation_id=gen.pk) is not None:
        pass
    gen.refresh_from_db()
    assert (gen.status, gen.error_code) == ("failed", "NotAnImage")
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
