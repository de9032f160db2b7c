"""The loader and the batching engine in this process, on the tiny model."""

import pytest

from generations.inference.loader import LoadOptions, load_pipeline
from generations.inference.metrics import Metrics
from generations.inference.schema import TURBO_STEPS, Job

pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def pipe(tiny_model_dir):
    return load_pipeline(LoadOptions(str(tiny_model_dir), device="cpu", dtype="float32"))


def test_it_runs_one_transformer_forward_per_step(pipe):
    from generations.inference.engine import Engine

    calls = []
    hook = pipe.transformer.register_forward_hook(lambda *args: calls.append(1))
    try:
        (image,) = Engine(pipe, "cpu", Metrics()).generate([Job("a fox", 48, 32, TURBO_STEPS, 1)])
    finally:
        hook.remove()
    assert len(calls) == 8 and image.size == (48, 32)


def test_it_batches_only_jobs_of_the_same_size(pipe):
    from generations.inference.engine import Engine

    metrics = Metrics()
    engine = Engine(pipe, "cpu", metrics, max_batch=4, max_wait=0.2)
    jobs = [Job("a fox", 32, 32, 2, 1), Job("a cat", 48, 32, 2, 2), Job("an owl", 32, 32, 2, 3)]
    engine.submit(jobs)
    engine.start()
    assert all(job.done.wait(30) for job in jobs) and not any(job.error for job in jobs)
    assert [job.image.size for job in jobs] == [(32, 32), (48, 32), (32, 32)]
    assert (metrics.batch_size.count, metrics.batch_size.total, metrics.images) == (2, 3, 3)


def test_it_knows_the_model_size_limits(pipe):
    from generations.inference.server import limits_for

    limits = limits_for(pipe)
    assert (limits.size_step, limits.min_side, limits.max_side) == (16, 16, 256)


def test_it_loads_the_weights_in_the_asked_dtype(tiny_model_dir):
    import torch

    pipe = load_pipeline(LoadOptions(str(tiny_model_dir), device="cpu", dtype="bfloat16"))
    assert {pipe.transformer.dtype, pipe.text_encoder.dtype, pipe.vae.dtype} == {torch.bfloat16}


def test_it_fails_only_the_batch_whose_call_failed():
    from generations.inference.engine import Engine

    calls = []

    def pipe(**kwargs):
        calls.append(kwargs["prompt"])
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory")
        return type("Output", (), {"images": ["image"] * len(kwargs["prompt"])})

    engine = Engine(pipe, "cpu", Metrics(), max_batch=2, max_wait=0)
    engine.start()
    first, second = Job("a", 32, 32, 8, 1), Job("b", 32, 32, 8, 2)
    for job in (first, second):
        engine.submit([job])
        assert job.done.wait(10)
    assert "RuntimeError: CUDA out of memory" in first.error and first.image is None
    assert second.image == "image" and not second.error
