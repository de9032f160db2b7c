"""The whole site path to the team's own worker: create -> Huey consumer ->
gpu_worker provider -> the worker process -> storage, credits captured."""

import dataclasses

import pytest
from django.core.files.storage import default_storage

from generations.billing import ledger
from generations.lifecycle import services
from generations.providers.gpu_worker import GpuWorkerProvider
from tests.helpers import wait_for

from .conftest import API_KEY

pytestmark = pytest.mark.slow


def test_it_generates_through_the_site_and_stores_the_same_image_for_the_same_seed(
    worker, consumer, owner, monkeypatch
):
    env = {"GPU_WORKER_URL": worker.url, "GPU_WORKER_API_KEY": API_KEY}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # The tiny test model takes sides up to 256 px; the site's limits are the
    # real model's (512x512 and up), so let this site process accept a small size.
    tiny = dataclasses.replace(GpuWorkerProvider.capabilities, min_pixels=16 * 16)
    monkeypatch.setattr(GpuWorkerProvider, "capabilities", tiny)
    consumer(env=env)
    gens = [
        services.generation_create(
            user=owner, prompt="a lighthouse at dusk", width=256, height=192, seed=21, provider="gpu_worker"
        )
        for _ in range(2)
    ]

    def all_done():
        for gen in gens:
            gen.refresh_from_db()
        return all(gen.is_finished for gen in gens)

    wait_for(all_done, timeout=120, what="both worker generations")
    assert [g.status for g in gens] == ["succeeded", "succeeded"], [g.error_message for g in gens]
    first, second = gens
    assert first.sha256 == second.sha256 and first.seed_used == 21
    assert (first.image_width, first.image_height, first.content_type) == (256, 192, "image/png")
    assert default_storage.exists(first.image.name) and default_storage.exists(first.thumbnail.name)
    assert first.source_url == ""  # bytes, not a link that could expire
    assert ledger.balance(user=owner).held == 0
    assert ledger.ledger_problems() == []
