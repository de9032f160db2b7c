"""Fixtures for the GPU worker: a tiny random-weight Z-Image model saved in the
published layout, and real `manage.py gpu_worker` processes serving it on the
CPU. Nothing is downloaded."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from generations.providers import gpu_worker

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-worker-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_command(model_dir, *args) -> list[str]:
    return [
        sys.executable,
        "manage.py",
        "gpu_worker",
        "--model",
        str(model_dir),
        "--device",
        "cpu",
        "--dtype",
        "float32",
        *args,
    ]


def worker_env(var_dir) -> dict:
    # One torch thread each: the tiny model gains nothing from more, and two
    # workers plus the tests share CI's two cores.
    return {
        **os.environ,
        "VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        "GPU_WORKER_API_KEY": API_KEY,
        "OMP_NUM_THREADS": "1",
    }


class WorkerProcess:
    def __init__(self, model_dir, var_dir, *args):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(var_dir) / f"worker-{self.port}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                worker_command(model_dir, "--port", str(self.port), *args),
                cwd=ROOT,
                env=worker_env(var_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60) -> "WorkerProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"worker exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        pytest.fail(f"worker not ready after {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    pytest.importorskip("diffusers")
    from generations.inference.random_model import TINY, build_pipeline

    path = tmp_path_factory.mktemp("tiny-z-image")
    build_pipeline(TINY).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
def workers(tiny_model_dir, var_dir):
    """Both started at once: most of a start is importing torch, on its own core.
    `main` waits up to 200 ms for company, so concurrent requests surely batch;
    `busy` runs one image at a time and queues one more."""
    main = WorkerProcess(tiny_model_dir, var_dir, "--max-batch", "4", "--max-wait-ms", "200")
    busy = WorkerProcess(
        tiny_model_dir, var_dir, "--max-batch", "1", "--queue-limit", "1", "--max-wait-ms", "0"
    )
    try:
        yield {"main": main.wait_ready(), "busy": busy.wait_ready()}
    finally:
        main.stop()
        busy.stop()


@pytest.fixture
def worker(workers):
    return workers["main"]


@pytest.fixture(autouse=True)
def forget_skipped_workers():
    gpu_worker._skip_until.clear()
    yield
    gpu_worker._skip_until.clear()
