"""bench/gpu_worker.py runs end to end on the tiny model (the GPU figures need a GPU)."""

import subprocess
import sys

import pytest

from .conftest import ROOT, worker_env

pytest.importorskip("diffusers")


@pytest.mark.slow
def test_it_prints_one_table_for_batches_1_2_4(var_dir):
    command = [
        sys.executable,
        "bench/gpu_worker.py",
        "--tiny",
        "--device",
        "cpu",
        "--compile",
        "off",
        "--repeats",
        "1",
    ]
    result = subprocess.run(
        command, cwd=ROOT, env=worker_env(var_dir), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "tiny random" in lines[0] and "64x64" in lines[0]
    assert lines[1] == "| compile | batch | s / image | images / min | s / call | peak GPU GiB |"
    rows = [line.strip("|").split("|") for line in lines[3:]]
    assert [row[1].strip() for row in rows] == ["1", "2", "4"]
    assert all(float(row[2]) > 0 and float(row[3]) > 0 for row in rows)


def test_it_builds_the_published_architecture_for_the_gpu_run():
    """On the meta device (no memory): the parameter counts of Z-Image-Turbo's
    6.15B transformer, Qwen3-4B text encoder and Flux VAE."""
    import torch

    from generations.inference.random_model import FULL, build_pipeline

    pipe = build_pipeline(FULL, device="meta", dtype=torch.bfloat16)
    counts = {
        name: sum(p.numel() for p in getattr(pipe, name).parameters())
        for name in ("transformer", "text_encoder", "vae")
    }
    assert counts == {"transformer": 6_154_908_736, "text_encoder": 4_022_468_096, "vae": 83_819_683}
    assert pipe.vae_scale_factor == 8 and pipe.transformer.dtype == torch.bfloat16
