"""The worker as a real process, driven through the site's gpu_worker provider."""

import io
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import httpx
import pytest
from PIL import Image

from generations.providers import GenerationRequest, ProviderError, ProviderSettings
from generations.providers.gpu_worker import GpuWorkerProvider, _skip_until

from .conftest import API_KEY, ROOT, free_port, worker_command, worker_env

pytest.importorskip("diffusers")
pytestmark = pytest.mark.slow


def provider(url: str) -> GpuWorkerProvider:
    return GpuWorkerProvider(ProviderSettings(base_url=url, api_key=API_KEY, timeout=60))


def pixels(png: bytes) -> list[int]:
    return list(Image.open(io.BytesIO(png)).convert("RGB").tobytes())


def batch_stats(worker) -> tuple[float, float]:
    """(images, pipeline calls) so far, from /metrics."""
    lines = httpx.get(worker.url + "/metrics").text.splitlines()
    values = dict(line.rsplit(" ", 1) for line in lines if line.startswith("gpu_worker_batch_size_"))
    return float(values["gpu_worker_batch_size_sum"]), float(values["gpu_worker_batch_size_count"])


def test_it_same_seed_gives_the_same_png_of_the_asked_size(worker):
    request = GenerationRequest("a red bicycle", 64, 48, seed=7)
    first, second = provider(worker.url).generate(request), provider(worker.url).generate(request)
    assert first.image_bytes == second.image_bytes
    image = Image.open(io.BytesIO(first.image_bytes))
    assert (image.format, image.size, first.seed) == ("PNG", (64, 48), 7)
    assert provider(worker.url).generate(replace(request, seed=8)).image_bytes != first.image_bytes


def test_it_batches_concurrent_requests_each_with_its_own_seed_and_prompt(worker):
    # Prompts of different lengths: the batch needs the transformer's padding mask.
    requests = [
        GenerationRequest("a cat", 64, 64, seed=1),
        GenerationRequest("a long prompt about a dog running on a beach at sunset", 64, 64, seed=2),
        GenerationRequest("x", 64, 64, seed=3),
    ]
    images_before, calls_before = batch_stats(worker)
    with ThreadPoolExecutor(3) as pool:
        batched = list(pool.map(provider(worker.url).generate, requests))
    images, calls = batch_stats(worker)
    assert images - images_before == 3 and calls - calls_before < 3  # at least one call had company
    assert len({result.image_bytes for result in batched}) == 3
    for request, result in zip(requests, batched, strict=True):
        alone = provider(worker.url).generate(request)
        pairs = zip(pixels(alone.image_bytes), pixels(result.image_bytes), strict=True)
        diff = max(abs(a - b) for a, b in pairs)
        assert diff <= 2, f"seed {request.seed}: batched differs from alone by {diff} levels"


def test_it_rejects_a_size_that_is_not_a_multiple_of_16_for_good(worker):
    with pytest.raises(ProviderError) as caught:
        provider(worker.url).generate(GenerationRequest("a cat", 72, 64))
    assert caught.value.code == "invalid_size" and not caught.value.retryable
    assert "multiples of 16" in caught.value.message


def test_it_needs_the_api_key_and_reports_health_and_metrics(worker):
    response = httpx.post(worker.url + "/v1/images/generations", json={"prompt": "a cat", "size": "32x32"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    health = httpx.get(worker.url + "/health").json()
    assert health["model_loaded"] and health["device"] == "cpu" and health["queue_depth"] == 0
    metrics = httpx.get(worker.url + "/metrics").text
    for name in (
        "gpu_worker_requests_total",
        "gpu_worker_images_total",
        "gpu_worker_batch_size_bucket",
        "gpu_worker_queue_wait_seconds_sum",
        "gpu_worker_generation_seconds_count",
    ):
        assert name in metrics
    assert 'gpu_worker_requests_total{code="401"}' in metrics


def test_it_skips_a_dead_worker(worker):
    dead = f"http://127.0.0.1:{free_port()}"
    client = provider(f"{dead},{worker.url}")
    for seed in (1, 2):
        assert client.generate(GenerationRequest("a cat", 32, 32, seed=seed)).image_bytes
    assert dead in _skip_until and worker.url not in _skip_until


def test_it_answers_503_with_retry_after_when_the_queue_is_full(workers):
    busy = workers["busy"]
    body = {"prompt": "a cat", "size": "64x64", "num_inference_steps": 20}
    headers = {"Authorization": f"Bearer {API_KEY}"}

    def post(_):
        return httpx.post(busy.url + "/v1/images/generations", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(post, range(6)))
    full = [r for r in responses if r.status_code == 503]
    assert full and any(r.status_code == 200 for r in responses)
    assert all(int(r.headers["Retry-After"]) >= 1 and r.json()["error"]["code"] == "queue_full" for r in full)

    def generate(_):
        try:
            return provider(busy.url).generate(GenerationRequest("a cat", 64, 64, steps=20))
        except ProviderError as exc:
            return exc

    with ThreadPoolExecutor(6) as pool:
        errors = [r for r in pool.map(generate, range(6)) if isinstance(r, ProviderError)]
    assert any(e.code == "queue_full" for e in errors)
    assert all(e.retryable and e.retry_after >= 1 for e in errors)


def test_it_refuses_an_incomplete_model_directory(tiny_model_dir, var_dir, tmp_path):
    broken = tmp_path / "model"
    shutil.copytree(tiny_model_dir, broken, ignore=shutil.ignore_patterns("vae"))
    result = subprocess.run(
        worker_command(broken, "--port", str(free_port())),
        cwd=ROOT,
        env=worker_env(var_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "vae/" in result.stderr and "incomplete" in result.stderr
