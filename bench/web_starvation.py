"""Web starvation: does a burst of `POST /v1/images/generations`, each waiting
seconds on its provider, hold up everything else the web process serves?

    python bench/web_starvation.py [--concurrency 50] [--delay 5] [--workers 1] [--threads 16]

The site runs as shipped: gunicorn with zimage_site/gunicorn_conf.py
(WEB_CONCURRENCY=--workers processes of WEB_THREADS=--threads threads), the
OpenAI endpoint inline (the web process calls the provider), provider
openai_compat pointing at a fake that answers after --delay seconds (b64_json,
512x512), a consumer beside it as on a site. One thread GETs /api/v1/me/
every 100 ms, first alone (--baseline seconds), then while --concurrency
OpenAI calls are sent at once (raw httpx, no retries), until the last ends.
The table: /me latency alone and during the burst, and how the burst's calls
ended (429: the site refused to let one more wait, OPENAI_MAX_WAITING).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402
from bench.openai_overhead import upstream  # noqa: E402

ME = "/api/v1/me/"


def web(*, workers: int, threads: int) -> int:
    """gunicorn as the Dockerfile runs it, on a free loopback port."""
    port = common.free_port()
    log = tempfile.mktemp(prefix="zbench-web-", suffix=".log")
    env = {
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "WEB_THREADS": str(threads),
        "WEB_LOG_LEVEL": "warning",
    }
    common.start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:zimage_site.gunicorn_conf",
            "zimage_site.wsgi",
            "--access-logfile",
            "/dev/null",
        ],
        env=env,
        log=log,
    )
    common.wait_port(port)
    return port


def poll(url: str, token: str, stop: threading.Event, interval: float) -> list[tuple[float, str]]:
    """GET /me every `interval` seconds (or as soon as the last answer, if it
    was slower) until `stop`; (seconds, status) each."""
    import httpx

    samples, due = [], time.monotonic()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status = str(client.get(ME).status_code)
            except httpx.HTTPError as error:
                status = type(error).__name__
            samples.append((time.perf_counter() - started, status))
            due = max(due + interval, time.monotonic())
            stop.wait(due - time.monotonic())
    return samples


def burst(url: str, token: str, count: int, delay: float) -> list[tuple[float, str]]:
    """`count` OpenAI calls sent at once, each on its own connection."""
    import httpx

    body = {
        "model": "z-image-turbo",
        "prompt": f"A lighthouse at dawn [slow:{delay:g}]",
        "size": "512x512",
        "response_format": "b64_json",
    }
    start = threading.Barrier(count)

    def one(_) -> tuple[float, str]:
        start.wait()
        started = time.perf_counter()
        try:
            status = str(
                httpx.post(
                    f"{url}/v1/images/generations",
                    json=body,
                    timeout=600,
                    headers={"Authorization": f"Bearer {token}"},
                ).status_code
            )
        except httpx.HTTPError as error:
            status = type(error).__name__
        return time.perf_counter() - started, status

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def during(url: str, token: str, args) -> tuple[list, list]:
    """/me samples while the burst runs, and the burst's results."""
    stop, samples = threading.Event(), []
    poller = threading.Thread(target=lambda: samples.extend(poll(url, token, stop, 0.1)))
    poller.start()
    try:
        results = burst(url, token, args.concurrency, args.delay)
    finally:
        stop.set()
        poller.join()
    return samples, results


def row(label: str, samples: list[tuple[float, str]], *, timed: str | None = None) -> list:
    """`timed`: the status whose requests the latency columns describe (all: None)."""
    statuses = Counter(status for _, status in samples)
    seconds = [s for s, status in samples if timed is None or status == timed] or [0.0]
    other = sum(n for status, n in statuses.items() if status not in ("200", "429"))
    return [
        label,
        len(samples),
        *(f"{v:.3f}" for v in (common.median(seconds), common.pct(seconds, 99), max(seconds))),
        statuses["200"],
        statuses["429"],
        other,
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--delay", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1, help="WEB_CONCURRENCY")
    parser.add_argument("--threads", type=int, default=16, help="WEB_THREADS")
    parser.add_argument("--baseline", type=float, default=3.0)
    args = parser.parse_args()
    with upstream() as fake:
        common.setup_env(
            "starve",
            OPENAI_COMPAT_BASE_URL=fake.url,
            OPENAI_COMPAT_API_KEY="sk-fake",
            DEFAULT_PROVIDER="openai_compat",
            OPENAI_COMPAT_RESPONSE_FORMAT="b64_json",
            WEB_THREADS=str(args.threads),
            WEB_CONCURRENCY=str(args.workers),
        )
        import django
        from django.conf import settings

        django.setup()
        token = common.users_with_tokens(1)[0]
        common.consumer(workers=8)
        url = f"http://127.0.0.1:{web(workers=args.workers, threads=args.threads)}"
        stop = threading.Event()
        threading.Timer(args.baseline, stop.set).start()
        alone = poll(url, token, stop, 0.1)[3:]  # the first ones load the code
        loaded, results = during(url, token, args)
    waiting = getattr(settings, "OPENAI_MAX_WAITING", None)
    print(
        f"gunicorn_conf.py: {args.workers} process(es) x {args.threads} threads; "
        f"OPENAI_MAX_WAITING={waiting if waiting is not None else 'none (no cap)'}; "
        f"{args.concurrency} OpenAI calls at once, provider answering after {args.delay:g} s"
    )
    print()
    print(
        common.table(
            ["requests", "count", "p50 s", "p99 s", "max s", "200", "429", "other"],
            [
                row(f"GET {ME} alone", alone),
                row(f"GET {ME} during the OpenAI calls", loaded),
                row("POST /v1/images/generations (latency: the 200s)", results, timed="200"),
            ],
        )
    )


if __name__ == "__main__":
    main()
