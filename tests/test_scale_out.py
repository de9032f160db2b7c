"""Scale-out: two gunicorn web processes and two Huey consumers on one
PostgreSQL, one Redis and one SeaweedFS. 500 generations created through both
web processes must each end stored exactly once and charged exactly once.

Runs only on PostgreSQL with Redis (the production parts; SQLite and Huey's
SQLite queue are single-machine by design). The recipe in docs/benchmarks.md
is the same topology by hand.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings
from django.core.management import call_command

from generations.api.tokens import api_token_create
from generations.models import CreditEntry, Generation
from tests.conftest import make_user
from tests.helpers import ROOT, database_url, port_open, wait_for
from tests.helpers_s3 import S3_ENV

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (settings.IS_POSTGRES and settings.REDIS_URL),
        reason="scale-out needs DATABASE_URL on PostgreSQL and REDIS_URL",
    ),
]
TOTAL, USERS = 500, 5
ENV = {**S3_ENV, "DEFAULT_PROVIDER": "demo", "API_THROTTLE_RATE": ""}


@pytest.fixture
def web(transactional_db, seaweed):
    """`web()` starts one gunicorn on a free port sharing the test database."""
    started = []

    def start() -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {**os.environ, **ENV, "DATABASE_URL": database_url()}
        started.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "zimage_site.wsgi",
                    "-b",
                    f"127.0.0.1:{port}",
                    "-w",
                    "2",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )
        )
        wait_for(lambda: port_open(port), timeout=30, what=f"gunicorn on {port}")
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in started:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def create_all(urls: list[str], tokens: list[str]) -> Counter:
    """TOTAL creates, alternating web processes and users; statuses by web process."""

    def one(i: int) -> tuple[str, int]:
        url = urls[i % len(urls)]
        response = httpx.post(
            f"{url}/api/v1/generations/",
            timeout=30,
            json={"prompt": f"a lighthouse, number {i}", "size": "512x512", "provider": "demo"},
            headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"},
        )
        return url, response.status_code

    with ThreadPoolExecutor(8) as pool:
        return Counter(pool.map(one, range(TOTAL)))


def stored_keys(seaweed, generations) -> Counter:
    """Every object named after one of `generations` (a duplicate would carry a
    suffix after the id), counted by key. Other runs on this machine may share
    the bucket and user ids, so other keys are left out."""
    ids, keys = {str(g.pk) for g in generations}, Counter()
    pages = (
        seaweed.client()
        .get_paginator("list_objects_v2")
        .paginate(Bucket=seaweed.BUCKET, Prefix="generations/")
    )
    for key in (o["Key"] for page in pages for o in page.get("Contents", [])):
        if key.rsplit("/", 1)[-1][:36] in ids:
            keys[key] += 1
    return keys


def test_two_webs_two_consumers_store_and_charge_each_generation_once(web, consumer, seaweed):
    users = [make_user(f"scale{i}", credits_amount=10 * TOTAL) for i in range(USERS)]
    tokens = [api_token_create(user=user, name="scale")[1] for user in users]
    workers = [consumer(env=ENV, workers=8) for _ in range(2)]
    urls = [web(), web()]
    started = time.monotonic()
    assert create_all(urls, tokens) == Counter({(url, 202): TOTAL // 2 for url in urls})
    wait_for(
        lambda: not Generation.objects.filter(status__in=Generation.IN_FLIGHT).exists(),
        timeout=90,
        interval=0.5,
        what="every generation to end",
    )
    print(f"{TOTAL} generations created and stored in {time.monotonic() - started:.1f}s")

    generations = list(Generation.objects.all())
    assert Counter(g.status for g in generations) == {"succeeded": TOTAL}
    expected = Counter(name for g in generations for name in (g.image.name, g.thumbnail.name))
    assert stored_keys(seaweed, generations) == expected  # each image and thumbnail once, no extras
    kinds = Counter(CreditEntry.objects.filter(generation__isnull=False).values_list("generation", "kind"))
    assert kinds == {(g.pk, kind): 1 for g in generations for kind in ("hold", "capture")}
    call_command("check_ledger")
    for worker in workers:  # both consumers took a share
        assert "Executing generations.tasks.run_generation" in worker.output()
