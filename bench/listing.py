"""Gallery and list with 100,000 generations: `GET /api/v1/generations/`
(first page, a deep page reached by its cursor, page_size=100) and the
dashboard home page (its 48 newest cards), p50 time and SQL queries per page.

    python bench/listing.py [--quick]

All 100,000 belong to one user (the worst case for that user's pages), on
PostgreSQL; a tenth have a tag. Timed in process with Django's test client
(the whole middleware stack and view, no HTTP server), median of 30 requests
per page. The same pages are measured first at 1,000 generations, to show
the query count does not grow with the table.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

STATUSES = ["succeeded"] * 8 + ["failed", "queued"]


def fill(user, total: int, start: int) -> None:
    """Generations `start`..`total` for `user`, newest last, in batches."""
    from django.db import connection
    from django.utils import timezone

    from generations.models import Generation, Tag

    tag, _ = Tag.objects.get_or_create(owner=user, name="lighthouses")
    now, batch = timezone.now(), 5000
    for first in range(start, total, batch):
        rows = [
            Generation(
                owner=user,
                prompt=f"A lighthouse at dawn, number {i}",
                width=1024,
                height=1024,
                seed_used=i,
                provider="demo",
                status=STATUSES[i % 10],
                credits_cost=2,
                created_at=now - timedelta(seconds=total - i),
                thumbnail=f"generations/{user.pk}/t{i}_thumb.webp" if i % 10 < 8 else "",
                image=f"generations/{user.pk}/t{i}.png" if i % 10 < 8 else "",
                error_message="The provider failed." if i % 10 == 8 else "",
            )
            for i in range(first, min(first + batch, total))
        ]
        Generation.objects.bulk_create(rows)
        Through = Generation.tags.through
        Through.objects.bulk_create([Through(generation=g, tag=tag) for g in rows[::10]])
    with connection.cursor() as cursor:  # planner statistics, as autovacuum keeps them live
        cursor.execute("ANALYZE")


def measure(client, path: str, repeat: int) -> tuple[float, int, int]:
    """(median ms, queries, status) for GET `path`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seconds = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            response = client.get(path)
            seconds.append(time.perf_counter() - t0)
    return common.median_ms(seconds), len(queries.captured_queries), response.status_code


def deep_page(client, pages: int) -> str:
    """The path of the page `pages` pages down, followed cursor by cursor."""
    path = "/api/v1/generations/"
    for _ in range(pages):
        path = client.get(path).json()["next"].removeprefix("http://testserver")
    return path


def pages(client, depth: int) -> list[tuple[str, str]]:
    return [
        ("API list, first page (20)", "/api/v1/generations/"),
        (f"API list, page {depth + 1} by cursor (20)", deep_page(client, depth)),
        ("API list, page_size=100", "/api/v1/generations/?page_size=100"),
        ("dashboard home (48 cards)", "/"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    common.setup_env("listing", ALLOWED_HOSTS="testserver")
    import django

    django.setup()
    from django.test import Client

    sizes, repeat = ([200, 2_000], 5) if args.quick else ([1_000, 100_000], 30)
    user = common.users(1)[0]
    client = Client()
    client.force_login(user)
    rows, done = [], 0
    for size in sizes:
        fill(user, size, done)
        done = size
        for name, path in pages(client, depth=5 if args.quick else 40):
            client.get(path)  # warm: first-use imports and caches are not the page's cost
            p50, queries, status = measure(client, path, repeat)
            rows.append([f"{size:,}", name, p50, queries, status])
    print(common.table(["generations", "page", "p50 ms", "SQL queries", "HTTP"], rows))


if __name__ == "__main__":
    main()
