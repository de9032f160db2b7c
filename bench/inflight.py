"""In flight: 256 generations on a provider that takes 5 s per image, through
ONE Huey consumer whose thread workers are spread over the site's default
number of processes (one per core: generations.runtime.consumer), or `--processes`.

    python bench/inflight.py [--quick] [--workers 64] [--processes 1]

The provider is the fake OpenAI-compatible server (tests/fakes) in this
process, asked to sleep 5 s (`[slow:5]`) and then answer a 1024x1024 PNG by
URL; images go to local storage. The 256 are queued first; the clock runs
from the consumer's "started" line to the last generation stored.

PostgreSQL connections are counted at their peak: the consumer's (tagged
with PGAPPNAME) and all of this database's. The consumer's pool size is
`DATABASE_POOL_MAX_SIZE` (0: no pool, one connection per busy thread).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402


def create(count: int, slow: float) -> float:
    """Queue `count` generations before any consumer runs; the seconds it took."""
    from django.contrib.auth import get_user_model

    from generations.billing import ledger
    from generations.lifecycle import services

    user = get_user_model().objects.create_user(username="inflight")
    ledger.grant(user=user, amount=10 * count, note="benchmark funds")
    t0 = time.monotonic()
    for i in range(count):
        services.generation_create(user=user, prompt=f"[slow:{slow}] lighthouse {i}", width=1024, height=1024)
    return time.monotonic() - t0


CONSUMER_APP = "zbench-inflight-consumer"


def drain(t0: float) -> tuple[float, str, dict]:
    """Wait until nothing is in flight: (seconds since t0, most database
    connections seen at once as "consumer's / all", statuses)."""
    from django.db import connection
    from django.db.models import Count

    from generations.models import Generation

    pending, peak = Generation.objects.filter(status__in=Generation.IN_FLIGHT), (0, 0)
    with connection.cursor() as cursor:
        while pending.exists() and time.monotonic() - t0 < 120:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE application_name = %s), count(*) "
                "FROM pg_stat_activity WHERE datname = current_database()",
                [CONSUMER_APP],
            )
            peak = tuple(map(max, peak, cursor.fetchone()))
            time.sleep(0.1)
    total = time.monotonic() - t0
    statuses = dict(Generation.objects.values_list("status").annotate(n=Count("id")))
    return total, f"{peak[0]} / {peak[1]}", statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--processes", type=int, default=0, help="0: the site's default")
    args = parser.parse_args()
    from tests.fakes.openai_compat import API_KEY, serve

    count, slow = (32, 1.0) if args.quick else (256, 5.0)
    with serve() as fake:
        common.setup_env(
            "inflight",
            OPENAI_COMPAT_BASE_URL=fake.url,
            OPENAI_COMPAT_API_KEY=API_KEY,
            DEFAULT_PROVIDER="openai_compat",
        )
        import django

        django.setup()
        created = create(count, slow)
        spread = {"HUEY_WORKER_PROCESSES": str(args.processes)} if args.processes else {}
        common.consumer(workers=args.workers, worker_type="thread", env={"PGAPPNAME": CONSUMER_APP, **spread})
        total, connections, statuses = drain(time.monotonic())
        peak = max_in_flight(fake.requests, slow)
    print(
        common.table(
            [
                "generations",
                "provider time",
                "consumer",
                "queue filled in (s)",
                "consumer start to all stored (s)",
                "ideal (s)",
                "peak calls in flight",
                "DB pool",
                "peak DB connections (consumer / all)",
                "statuses",
            ],
            [
                [
                    count,
                    f"{slow:g} s",
                    common.consumer_label(args.workers, args.processes),
                    round(created, 2),
                    round(total, 2),
                    round(slow * -(-count // args.workers), 1),
                    peak,
                    pool_label(args),
                    connections,
                    " ".join(f"{k}:{v}" for k, v in sorted(statuses.items())),
                ]
            ],
        )
    )


def pool_label(args) -> str:
    """The consumer's pool, shared out among its processes (generations.runtime.consumer)."""
    from django.conf import settings

    size = settings.DATABASE_POOL_MAX_SIZE
    count = min(args.processes or settings.HUEY_WORKER_PROCESSES, args.workers)
    if not size:
        return "off"
    return f"{size}" if count == 1 else f"{size}: {max(2, -(-size // count))} per process"


def max_in_flight(requests: list[dict], slow: float) -> int:
    """The most provider calls open at once: each call lasts `slow` seconds
    from its arrival at the fake."""
    starts = sorted(r["at"] for r in requests if r["method"] == "POST")
    return max((sum(1 for s in starts if t <= s < t + slow) for t in starts), default=0)


if __name__ == "__main__":
    main()
