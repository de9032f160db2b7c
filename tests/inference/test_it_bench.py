"""bench/gpu_worker.py runs end to end on the tiny model (the GPU figures need a GPU)."""

import subprocess
import sys

import pytest

from .conftest import ROOT, worker_env

pytest.importorskip("diffusers")


@pytest.mark.slow
def test_it_prints_one_table_for_batches_1_2_4(var_dir):
    command = [sys.executable, "bench/gpu_worker.py", "--tiny", "--device", "cpu", "--compile", "off",
               "--repeats", "1"]
    result = subprocess.run(command, cwd=ROOT, env=worker_env(var_dir), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "tiny random" in lines[0] and "64x64" in lines[0]
    assert lines[1] == "| compile | batch | s / image | images / min | s / call | peak GPU GiB |"
    rows = [line.strip("|").split("|") for line in lines[3:]]
    assert [row[1].strip() for row in rows] == ["1", "2", "4"]
    assert all(float(row[2]) > 0 and float(row[3]) > 0 for row in rows)
