"""What the benchmarks share: a fresh PostgreSQL database, the environment,
and the real processes (gunicorn, Huey consumers, SeaweedFS), started here and
stopped on exit.

A script calls `setup_env()` before `django.setup()`, so it and every process
it starts use the same database, Redis queue name and storage.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0")
_procs: list[subprocess.Popen] = []


def setup_env(name: str, *, s3: bool = False, **extra: str) -> dict[str, str]:
    """A fresh database `zbench_<name>_<pid>`, migrated, and the environment
    every process of this run shares. Dropped at exit."""
    sys.path.insert(0, str(ROOT))
    run_dir = tempfile.mkdtemp(prefix=f"zbench-{name}-")
    atexit.register(shutil.rmtree, run_dir, ignore_errors=True)
    db = f"zbench_{name}_{os.getpid()}"
    env = {
        "DJANGO_SETTINGS_MODULE": "zimage_site.settings",
        "DATABASE_URL": f"{PG}/{db}",
        "REDIS_URL": REDIS_URL,
        "HUEY_NAME": db,
        "VAR_DIR": run_dir,
        "DEBUG": "0",
        "MEDIA_ROOT": f"{run_dir}/media",
        "IMAGE_FETCH_ALLOW_PRIVATE": "1",
        "API_THROTTLE_RATE": "",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "bench-" + db,
        "STATIC_MANIFEST": "0",
        **extra,
    }
    if s3:
        from tests.helpers_s3 import S3_ENV

        env.update(S3_ENV)
    os.environ.update(env)
    _psql(f'CREATE DATABASE "{db}"')
    atexit.register(_drop, db)
    _manage("migrate", "--noinput", "-v0")
    return env


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _drop(db: str) -> None:
    from django.db import connections

    connections.close_all()
    _psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"huey.*{db}*"):
        client.delete(key)


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def start(
    args: list[str],
    *,
    env: dict | None = None,
    log: str | None = None,
    cwd: Path = ROOT,
    inherit: bool = True,
) -> subprocess.Popen:
    """A child process in its own session, stopped (SIGINT, then SIGKILL) at exit.
    `inherit=False`: only PATH and HOME of this process's environment."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    base = os.environ if inherit else {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env={**base, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _procs.append(proc)
    return proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@atexit.register
def _stop_all() -> None:
    for proc in reversed(_procs):
        stop(proc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def gunicorn(*, workers: int = 2, threads: int = 1, env: dict | None = None, log: str | None = None) -> int:
    """gunicorn on a free loopback port; returns the port."""
    port = free_port()
    kind = ["-k", "gthread", "--threads", str(threads)] if threads > 1 else []
    start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "zimage_site.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            *kind,
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        env=env,
        log=log,
    )
    wait_port(port)
    return port


def consumer(
    *, workers: int, worker_type: str = "thread", env: dict | None = None, log: str | None = None
) -> subprocess.Popen:
    """`manage.py run_huey` with `workers` workers; returns once it has started."""
    log = log or tempfile.mktemp(prefix="huey-", suffix=".log")
    proc = start(
        [sys.executable, "manage.py", "run_huey", "-w", str(workers), "-k", worker_type], env=env, log=log
    )
    deadline = time.monotonic() + 60
    while b"consumer started" not in Path(log).read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("consumer did not start:\n" + Path(log).read_text())
        time.sleep(0.1)
    return proc


def consumer_label(workers: int, processes: int = 0) -> str:
    """How a thread consumer runs `workers`: over `processes` (0: the site's
    HUEY_WORKER_PROCESSES), threads in each, as generations.runtime.consumer spreads them."""
    from django.conf import settings

    count = min(processes or settings.HUEY_WORKER_PROCESSES, workers)
    return f"{count} process{'es' if count > 1 else ''} x {-(-workers // count)} threads"


def seaweed():
    """The tests' SeaweedFS (`weed mini`, fixed ports): waits while another run holds them."""
    from tests.helpers import SeaweedFS, port_open

    deadline = time.monotonic() + 300
    while port_open(SeaweedFS.PORT):
        if time.monotonic() > deadline:
            raise RuntimeError("port 8333 stayed taken: another SeaweedFS is running")
        time.sleep(2)
    server = SeaweedFS()
    server.start()
    atexit.register(server.destroy)
    return server


def users(count: int, *, credits: int = 1_000_000) -> list:
    """`count` new users with `credits` each."""
    from django.contrib.auth import get_user_model

    from generations.billing import ledger as ledger

    made = []
    for _ in range(count):
        user = get_user_model().objects.create_user(username=f"bench-{uuid.uuid4().hex[:12]}")
        ledger.grant(user=user, amount=credits, note="benchmark funds")
        made.append(user)
    return made


def users_with_tokens(count: int, *, credits: int = 1_000_000) -> list[str]:
    """`count` new users with credits and one API token each; their raw tokens."""
    from generations.api.tokens import api_token_create

    return [api_token_create(user=user, name="bench")[1] for user in users(count, credits=credits)]


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def median_ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 1)


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table, ready for docs/benchmarks.md."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(row):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])
