"""Fault replay on the production topology, on one machine: PostgreSQL, Huey
on Redis, images on SeaweedFS S3, real `manage.py run_huey` consumers, a real
gunicorn web process, and the fake DashScope (tests/fakes) in this process.

    python bench/faults.py [--n-slow 48] [--normal 40] [--slow-host 20]
                           [--creates 5] [--rescue-after 2] [--cases slow,broker]

Two cases (issue 25), one table row each; exits 1 when a row misses its
expectations:

- slow image host: one consumer with the site's defaults (HUEY_WORKERS 128
  over HUEY_WORKER_PROCESSES=2, DATABASE_POOL_MAX_SIZE 16) and
  DATABASE_POOL_TIMEOUT=10. `--n-slow` generations whose image URL answers
  after `--slow-host` seconds (`[imageslow:S]`), and once their copies are
  under way `--normal` ordinary ones. All must succeed with no PoolTimeout in
  the consumer's log, and the ordinary ones must not wait behind the slow
  copies (their slowest time to succeed, created_at to finished_at, under
  `--slow-host`).
- broker down: a gunicorn web process (zimage_site/gunicorn_conf.py, the
  site's default API throttle) whose REDIS_URL is a closed port takes
  `--creates` API creates: each must answer 202 and leave its row queued with
  its credits held. Then a consumer with the right REDIS_URL and
  QUEUED_RESCUE_AFTER=`--rescue-after` starts (the broker is back), and every
  generation must succeed, stored and charged once.

Columns: the HTTP codes of the creates (broker case), generations created,
their end states, those still in flight at the deadline, those stored
exactly once (each succeeded row's image and thumbnail are in the bucket
once each, nothing else under its id), those charged exactly once (one hold
and one capture, or release, matching the end state), `manage.py
check_ledger`'s exit code, PoolTimeout lines in the consumer logs, and the
wall time from the first create to the last generation ended.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

SIZE = (1024, 1024)
LOGS = tempfile.mkdtemp(prefix="zbench-faults-logs-")  # kept when a row fails
HEADERS = [
    "case",
    "create codes",
    "created",
    "succeeded / failed / canceled",
    "stuck",
    "stored once",
    "charged once (check_ledger rc)",
    "PoolTimeout lines",
    "normal time to succeed p50 / max (s)",
    "wall (s)",
    "ok",
]


def make_user():
    from generations.api.tokens import api_token_create

    [user] = common.users(1, credits=1_000_000)
    return user, api_token_create(user=user, name="faults")[1]


def wait_ended(gens, timeout: float) -> float:
    """Until none of `gens` is in flight, or `timeout`; the monotonic time then."""
    from generations.models import Generation

    pending = Generation.objects.filter(pk__in=[g.pk for g in gens], status__in=Generation.IN_FLIGHT)
    deadline = time.monotonic() + timeout
    while pending.exists() and time.monotonic() < deadline:
        time.sleep(0.25)
    return time.monotonic()


def stored_once(weed, gens) -> int:
    """Succeeded rows whose image and thumbnail are each in the bucket once,
    with no other object named after the row."""
    keys = Counter()
    pages = weed.client().get_paginator("list_objects_v2").paginate(Bucket=weed.BUCKET, Prefix="generations/")
    for key in (o["Key"] for page in pages for o in page.get("Contents", [])):
        keys[key.rsplit("/", 1)[-1][:36]] += 1
    ok = 0
    for g in gens:
        names = [n for n in (g.image.name, g.thumbnail.name) if n]
        if (
            g.status == "succeeded"
            and len(names) == 2
            and keys[str(g.pk)] == 2
            and all(_exists(weed, n) for n in names)
        ):
            ok += 1
    return ok


def _exists(weed, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        weed.client().head_object(Bucket=weed.BUCKET, Key=key)
        return True
    except ClientError:
        return False


def charged_once(gens) -> int:
    from generations.models import CreditEntry

    kinds = Counter(
        CreditEntry.objects.filter(generation__in=[g.pk for g in gens]).values_list("generation", "kind")
    )
    settle = {"succeeded": "capture", "failed": "release", "canceled": "release"}
    ok = 0
    for g in gens:
        mine = {kind: n for (pk, kind), n in kinds.items() if pk == g.pk}
        if g.status in settle and mine == {"hold": 1, settle[g.status]: 1}:
            ok += 1
    return ok


def check_ledger() -> int:
    return subprocess.run(
        [sys.executable, "manage.py", "check_ledger"], cwd=common.ROOT, capture_output=True
    ).returncode


def pool_timeouts(logs: list[str]) -> int:
    return log_lines(logs, "PoolTimeout")


def log_lines(logs: list[str], text: str) -> int:
    """Lines of the logs that contain `text`."""
    return sum(text in line for log in logs for line in Path(log).read_text(errors="replace").splitlines())


def outcome(
    name: str,
    gens,
    weed,
    logs: list[str],
    wall: float,
    codes: str = "-",
    normal: list | None = None,
    slow_host: float = 0,
    extra_ok: bool = True,
) -> list:
    """The row for a case, and whether it met every expectation."""
    from generations.models import Generation

    gens = list(Generation.objects.filter(pk__in=[g.pk for g in gens]))
    states = Counter(g.status for g in gens)
    stuck = sum(states[s] for s in Generation.IN_FLIGHT)
    stored, charged, rc = stored_once(weed, gens), charged_once(gens), check_ledger()
    timeouts = pool_timeouts(logs)
    timing, timing_ok = "-", True
    if normal is not None:
        by_pk = {g.pk: g for g in gens}
        waits = [
            (by_pk[g.pk].finished_at - by_pk[g.pk].created_at).total_seconds()
            for g in normal
            if by_pk[g.pk].finished_at
        ]
        timing = f"{common.median(waits):.2f} / {max(waits):.2f}" if waits else "none ended"
        timing_ok = len(waits) == len(normal) and max(waits) < slow_host
    n = len(gens)
    ok = (
        extra_ok
        and timing_ok
        and states["succeeded"] == n
        and stuck == 0
        and stored == n
        and charged == n
        and rc == 0
        and timeouts == 0
    )
    return [
        name,
        codes,
        n,
        f"{states['succeeded']} / {states['failed']} / {states['canceled']}",
        stuck,
        f"{stored}/{n}",
        f"{charged}/{n} ({rc})",
        timeouts,
        timing,
        f"{wall:.1f}",
        "yes" if ok else "NO",
    ]


def slow_host_case(args, weed) -> list:
    from generations.lifecycle import services
    from generations.models import Generation

    log = f"{LOGS}/consumer-slow.log"
    proc = common.consumer(
        workers=args.workers,
        log=log,
        env={"HUEY_WORKER_PROCESSES": "2", "DATABASE_POOL_MAX_SIZE": "16", "DATABASE_POOL_TIMEOUT": "10"},
    )
    user, _ = make_user()
    started = time.monotonic()
    slow = [
        services.generation_create(
            user=user,
            prompt=f"a slow lighthouse {i} [imageslow:{args.slow_host:g}]",
            width=SIZE[0],
            height=SIZE[1],
            provider="dashscope",
        )
        for i in range(args.n_slow)
    ]
    copying = Generation.objects.filter(pk__in=[g.pk for g in slow], status="storing")
    deadline = time.monotonic() + args.slow_host / 2
    while copying.count() < len(slow) and time.monotonic() < deadline:
        time.sleep(0.1)  # the slow copies are under way before the others come
    print(
        f"slow image host: {copying.count()} of {len(slow)} slow copies under way when the "
        f"{args.normal} others were created",
        file=sys.stderr,
    )
    normal = [
        services.generation_create(
            user=user, prompt=f"a quick lighthouse {i}", width=SIZE[0], height=SIZE[1], provider="dashscope"
        )
        for i in range(args.normal)
    ]
    gens = slow + normal
    wall = wait_ended(gens, timeout=args.slow_host + 90) - started
    row = outcome(
        f"slow image host ({args.n_slow} x {args.slow_host:g} s + {args.normal})",
        gens,
        weed,
        [log],
        wall,
        normal=normal,
        slow_host=args.slow_host,
    )
    common.stop(proc)
    return row


def broker_down_case(args, weed) -> list:
    import httpx
    from django.db.models import Sum

    from generations.billing import ledger
    from generations.models import Generation

    web_log = f"{LOGS}/web-broker-down.log"
    port = common.free_port()
    common.start(
        [sys.executable, "-m", "gunicorn", "-c", "python:zimage_site.gunicorn_conf", "zimage_site.wsgi"],
        log=web_log,
        env={
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "WEB_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
            "WEB_THREADS": "4",
            "API_THROTTLE_RATE": "120/min",
            "LOG_LEVEL": "INFO",
        },
    )
    common.wait_port(port)
    user, token = make_user()
    started = time.monotonic()

    def create(i: int) -> int | str:
        try:
            return httpx.post(
                f"http://127.0.0.1:{port}/api/v1/generations/",
                timeout=30,
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "prompt": f"a lighthouse while the broker is down {i}",
                    "size": f"{SIZE[0]}x{SIZE[1]}",
                    "provider": "dashscope",
                },
            ).status_code
        except httpx.HTTPError as exc:  # no answer at all: shown in the codes column
            return type(exc).__name__

    with ThreadPoolExecutor(4) as pool:
        codes = Counter(pool.map(create, range(args.creates)))
    gens = list(Generation.objects.filter(owner=user))
    queued = sum(g.status == "queued" for g in gens)
    held = ledger.balance(user=user).held
    cost = Generation.objects.filter(owner=user).aggregate(s=Sum("credits_cost"))["s"] or 0
    before_ok = (
        codes == {202: args.creates} and len(gens) == args.creates and queued == args.creates and held == cost
    )
    print(
        f"broker down: create codes {dict(codes)}, {len(gens)} rows, {queued} queued, "
        f"{held} credits held of {cost} priced",
        file=sys.stderr,
    )
    if not before_ok:
        print(_tail(web_log), file=sys.stderr)
    time.sleep(args.rescue_after + 0.5)  # past QUEUED_RESCUE_AFTER: the consumer's start pass sends them
    log = f"{LOGS}/consumer-broker-back.log"
    proc = common.consumer(
        workers=args.workers,
        log=log,
        env={"QUEUED_RESCUE_AFTER": str(args.rescue_after), "HUEY_WORKER_PROCESSES": "2"},
    )
    wall = wait_ended(gens, timeout=90) - started
    codes_label = (
        " ".join(f"{code} x{n}" for code, n in sorted(codes.items(), key=str))
        + f"; {queued} queued, {held}/{cost} credits held; web log: "
        f"{log_lines([web_log], 'queue unreachable')} 'queue unreachable'; consumer: "
        f"{log_lines([log], 'sending it again')} sent again"
    )
    row = outcome(
        f"broker down ({args.creates} API creates, then the broker is back)",
        gens,
        weed,
        [log],
        wall,
        codes=codes_label,
        extra_ok=before_ok,
    )
    common.stop(proc)
    return row


def _tail(path: str, lines: int = 30) -> str:
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-slow", type=int, default=48)
    parser.add_argument("--normal", type=int, default=40)
    parser.add_argument("--slow-host", type=float, default=20)
    parser.add_argument("--creates", type=int, default=5)
    parser.add_argument("--rescue-after", type=int, default=2)
    parser.add_argument("--workers", type=int, default=128, help="HUEY_WORKERS of each consumer")
    parser.add_argument("--cases", default="slow,broker")
    args = parser.parse_args()
    from tests.fakes.dashscope import API_KEY, serve

    weed = common.seaweed()
    with serve() as fake:
        common.setup_env(
            "faults",
            s3=True,
            DASHSCOPE_BASE_URL=fake.url,
            DASHSCOPE_API_KEY=API_KEY,
            DEFAULT_PROVIDER="dashscope",
        )
        import django

        django.setup()
        cases = {"slow": slow_host_case, "broker": broker_down_case}
        rows = [cases[name](args, weed) for name in args.cases.split(",")]
    result = common.table(HEADERS, rows)
    print(result)
    if all(row[-1] == "yes" for row in rows):
        shutil.rmtree(LOGS, ignore_errors=True)
        sys.exit(0)
    print(f"{result}\nlogs kept in {LOGS}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
