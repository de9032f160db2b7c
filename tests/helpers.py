"""Real processes for tests: a Huey consumer and a SeaweedFS S3 server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection

from tests import helpers_s3 as s3

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the database this test is using, for another process."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return (
        f"postgres://{s['USER']}:{s.get('PASSWORD') or ''}@{s['HOST'] or '127.0.0.1'}:"
        f"{s['PORT'] or 5432}/{s['NAME']}"
    )


def wait_for(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_finished(generation, timeout: float = 30):
    """Wait until a generation has ended (a consumer process is running it)."""

    def done():
        generation.refresh_from_db()
        return generation.is_finished

    wait_for(done, timeout=timeout, what=f"generation {generation.pk} to finish")
    return generation


class Consumer:
    """`python manage.py run_huey` as a child process sharing the test database."""

    def __init__(self, *, env: dict[str, str] | None = None, workers: int = 4):
        self.log = tempfile.NamedTemporaryFile(prefix="huey-", suffix=".log", delete=False)
        full_env = {**os.environ, "DATABASE_URL": database_url(), **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_huey", "--workers", str(workers)],
            cwd=ROOT,
            env=full_env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(
            lambda: b"consumer started" in self.output_bytes() or self.proc.poll() is not None,
            timeout=30,
            what="the Huey consumer to start",
        )
        if self.proc.poll() is not None:
            raise AssertionError("consumer died at start:\n" + self.output())

    def output_bytes(self) -> bytes:
        return Path(self.log.name).read_bytes()

    def output(self) -> str:
        return self.output_bytes().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up, as when a machine dies."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        print(f"--- consumer {self.proc.pid} log ---\n{self.output()}")  # shown only on failure
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        os.unlink(self.log.name)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class SeaweedFS:
    """`weed mini` on 127.0.0.1 with a fresh data directory: a real S3 API."""

    ACCESS_KEY, SECRET_KEY, BUCKET, PORT = s3.ACCESS_KEY, s3.SECRET_KEY, s3.BUCKET, s3.PORT

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="weed-")
        self.proc = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.PORT}"

    def start(self) -> None:
        if port_open(self.PORT):
            raise RuntimeError(f"port {self.PORT} is taken: another SeaweedFS is running?")
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": self.SECRET_KEY}
        weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
        self.proc = subprocess.Popen(
            [
                weed,
                "mini",
                f"-dir={self.dir}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
                f"-bucket={self.BUCKET}",
                "-admin.ui=false",
                *(f"-{flag}={port}" for flag, port in s3.PORTS.items()),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(self._ready, timeout=60, interval=0.3, what="SeaweedFS S3")

    def _ready(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client().head_bucket(Bucket=self.BUCKET)
            return True
        except (BotoCoreError, ClientError):
            return False

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.ACCESS_KEY,
            aws_secret_access_key=self.SECRET_KEY,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def storages_setting(self, *, multipart_threshold: int = 8 * 1024 * 1024) -> dict:
        """The site's S3 backend on this server; files of `multipart_threshold`
        bytes or more go through boto3's upload_fileobj, smaller ones are one PutObject."""
        from boto3.s3.transfer import TransferConfig

        return {
            "BACKEND": "generations.images.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": self.BUCKET,
                "endpoint_url": self.endpoint,
                "access_key": self.ACCESS_KEY,
                "secret_key": self.SECRET_KEY,
                "region_name": "us-east-1",
                "addressing_style": "path",
                "signature_version": "s3v4",
                "default_acl": None,
                "querystring_expire": 300,
                "file_overwrite": False,
                "transfer_config": TransferConfig(multipart_threshold=multipart_threshold),
            },
        }


def make_image(provider, req, *, timeout: float = 10):
    """Call a provider the way its mode says: generate(), or submit() and poll()
    until it answers (tests only: the site never waits in a worker)."""
    if provider.capabilities.mode == "sync":
        return provider.generate(req)
    task_id = provider.submit(req)
    return wait_for(
        lambda: provider.poll(task_id), timeout=timeout, interval=0.05, what=f"{provider.name} task {task_id}"
    )
