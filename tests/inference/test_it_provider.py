"""The site's gpu_worker provider against faked workers (respx)."""

import base64
import json

import httpx
import pytest
import respx

from generations.providers import GenerationRequest, ProviderError, ProviderSettings
from generations.providers.gpu_worker import GpuWorkerProvider, _skip_until
from generations.providers.registry import PREFERENCE, REGISTRY, get_provider

A, B = "http://gpu-a:8100", "http://gpu-b:8100"
PATH = "/v1/images/generations"
PNG = b"\x89PNG\r\n\x1a\nnot-really"


def ok(seed=5) -> httpx.Response:
    return httpx.Response(
        200, json={"created": 1, "data": [{"b64_json": base64.b64encode(PNG).decode(), "seed": seed}]}
    )


def error(status, code, headers=None) -> httpx.Response:
    body = {"error": {"message": f"{code} happened", "type": "invalid_request_error", "code": code}}
    return httpx.Response(status, json=body, headers=headers)


def provider(urls=A, key="") -> GpuWorkerProvider:
    return GpuWorkerProvider(ProviderSettings(base_url=urls, api_key=key))


@respx.mock
def test_it_sends_the_openai_body_with_seed_and_steps_and_returns_the_bytes():
    route = respx.post(A + PATH).mock(return_value=ok(seed=5))
    result = provider(key="k").generate(GenerationRequest("a fox", 1024, 768, seed=5, steps=8))
    sent = route.calls.last.request
    assert json.loads(sent.content) == {
        "model": "z-image-turbo",
        "prompt": "a fox",
        "n": 1,
        "size": "1024x768",
        "response_format": "b64_json",
        "seed": 5,
        "num_inference_steps": 8,
    }
    assert sent.headers["Authorization"] == "Bearer k"
    assert (result.image_bytes, result.seed, result.width, result.height) == (PNG, 5, 1024, 768)
    assert result.image_url == "" and result.url_expires_at is None


@respx.mock
def test_it_leaves_out_seed_and_steps_when_not_asked_and_takes_the_worker_seed():
    route = respx.post(A + PATH).mock(return_value=ok(seed=123))
    result = provider().generate(GenerationRequest("a fox", 512, 512))
    sent = json.loads(route.calls.last.request.content)
    assert "seed" not in sent and "num_inference_steps" not in sent
    assert "Authorization" not in route.calls.last.request.headers
    assert result.seed == 123


@respx.mock
@pytest.mark.parametrize(
    "status,code,retryable",
    [(400, "invalid_size", False), (401, "invalid_api_key", False), (500, "generation_failed", True)],
)
def test_it_maps_worker_errors(status, code, retryable):
    respx.post(A + PATH).mock(return_value=error(status, code))
    with pytest.raises(ProviderError) as caught:
        provider().generate(GenerationRequest("a fox", 512, 512))
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    assert caught.value.message == f"{code} happened"


@respx.mock
def test_it_takes_turns_between_workers():
    a = respx.post(A + PATH).mock(return_value=ok())
    b = respx.post(B + PATH).mock(return_value=ok())
    for _ in range(4):
        provider(f"{A}, {B}/").generate(GenerationRequest("a fox", 512, 512))
    assert a.call_count == 2 and b.call_count == 2


@respx.mock
def test_it_tries_the_next_worker_when_one_is_down_or_busy_and_remembers():
    respx.post(A + PATH).mock(side_effect=httpx.ConnectError("refused"))
    respx.post(B + PATH).mock(return_value=ok())
    for _ in range(3):
        assert provider(f"{A},{B}").generate(GenerationRequest("a fox", 512, 512)).image_bytes == PNG
    assert respx.routes[0].call_count == 1 and A in _skip_until


@respx.mock
def test_it_is_retryable_with_retry_after_when_every_worker_is_busy():
    respx.post(A + PATH).mock(return_value=error(503, "queue_full", {"Retry-After": "7"}))
    respx.post(B + PATH).mock(return_value=error(503, "queue_full", {"Retry-After": "7"}))
    with pytest.raises(ProviderError) as caught:
        provider(f"{A},{B}").generate(GenerationRequest("a fox", 512, 512))
    assert (caught.value.code, caught.value.retryable, caught.value.retry_after) == ("queue_full", True, 7.0)
    with pytest.raises(ProviderError) as caught:  # both now skipped: no call at all
        provider(f"{A},{B}").generate(GenerationRequest("a fox", 512, 512))
    assert caught.value.code == "WorkerUnavailable" and caught.value.retryable
    assert 6 <= caught.value.retry_after <= 7  # when the first of them is back
    assert respx.calls.call_count == 2


@respx.mock
def test_it_does_not_resend_after_a_read_timeout():
    respx.post(A + PATH).mock(side_effect=httpx.ReadTimeout("slow"))
    b = respx.post(B + PATH).mock(return_value=ok())
    with pytest.raises(ProviderError) as caught:
        provider(A).generate(GenerationRequest("a fox", 512, 512))
    assert caught.value.code == "Timeout" and caught.value.retryable and not b.called


@respx.mock
def test_it_rejects_an_answer_without_an_image():
    respx.post(A + PATH).mock(return_value=httpx.Response(200, json={"data": []}))
    with pytest.raises(ProviderError) as caught:
        provider().generate(GenerationRequest("a fox", 512, 512))
    assert caught.value.code == "BadResponse" and not caught.value.retryable


def test_it_reads_gpu_worker_url_and_says_when_unset(monkeypatch):
    monkeypatch.delenv("GPU_WORKER_URL", raising=False)
    assert "GPU_WORKER_URL" in provider("").unavailable_reason()
    monkeypatch.setenv("GPU_WORKER_URL", f"{A},{B}")
    assert provider("").urls == [A, B] and provider("").unavailable_reason() == ""
    assert provider(B).urls == [B]  # an admin's base URL wins


def test_it_validates_sizes_in_steps_of_16():
    caps = GpuWorkerProvider.capabilities
    caps.validate(GenerationRequest("a fox", 1024, 1536, seed=2**31 - 1, steps=8))
    assert all(w % 16 == 0 == h % 16 for w, h in caps.presets)
    with pytest.raises(Exception, match="multiples of 16"):
        caps.validate(GenerationRequest("a fox", 1000, 1000))


@pytest.mark.django_db
def test_it_is_registered_and_configured_from_the_environment(monkeypatch):
    monkeypatch.setenv("GPU_WORKER_URL", A)
    monkeypatch.setenv("GPU_WORKER_API_KEY", "secret")
    assert REGISTRY["gpu_worker"] is GpuWorkerProvider
    # The team's own workers (no per-image bill) are preferred over hosted providers.
    assert PREFERENCE.index("gpu_worker") < PREFERENCE.index("dashscope") < PREFERENCE.index("demo")
    found = get_provider("gpu_worker")
    assert found.urls == [A] and found.settings.api_key == "secret" and found.unavailable_reason() == ""
