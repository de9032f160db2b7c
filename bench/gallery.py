"""Gallery speed at 100,000 generations: one table of ms and queries per page.

    python bench/gallery.py [--rows 100000]

Always a throw-away SQLite database in a temporary VAR_DIR (DATABASE_URL is
ignored so no real database is touched); fills it with bulk inserts and
requests gallery pages through Django's test client. A search that matches
nothing is the worst case: it reads every one of the user's rows.
"""

import argparse
import os
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("DATABASE_URL", None)
os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="bench-gallery-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zimage_site.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from generations.models import Generation, Tag  # noqa: E402

WORDS = "fox cat city night snow 雪 夜景 河流 mountain neon portrait forest".split()


def fill(user, rows: int) -> None:
    now, batch = timezone.now(), []
    for i in range(rows):
        batch.append(
            Generation(
                owner=user,
                prompt=f"{WORDS[i % len(WORDS)]} {WORDS[(i * 7) % len(WORDS)]} #{i}",
                width=1024,
                height=1024 if i % 3 else 1536,
                provider="demo",
                status="succeeded",
                created_at=now - timedelta(seconds=i),
                thumbnail=f"t/{i}.webp",
                credits_cost=2,
            )
        )
        if len(batch) == 5000:
            Generation.objects.bulk_create(batch)
            batch = []
    Generation.objects.bulk_create(batch)


def measure(client, url: str, repeat: int = 5) -> tuple[float, int]:
    best = float("inf")
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url)
            best = min(best, time.perf_counter() - start)
        assert response.status_code == 200, url
    return best * 1000, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="x")
    fill(user, args.rows)
    tag = Tag.objects.create(owner=user, name="picked")
    tag.generations.add(*Generation.objects.filter(owner=user)[::97][:500])
    client = Client()
    client.force_login(user)
    deep = Generation.objects.filter(owner=user).order_by("-created_at")[args.rows // 2]
    from generations.dashboard.gallery import encode_cursor

    cases = [
        ("first page", "/gallery/"),
        (f"page at row {args.rows // 2}", f"/gallery/?cursor={encode_cursor(deep)}"),
        ("search 'neon'", "/gallery/?q=neon"),
        ("search '夜景'", "/gallery/?q=%E5%A4%9C%E6%99%AF"),
        ("search, no match", "/gallery/?q=zebra"),
        ("tag filter", "/gallery/?tag=picked"),
        ("size filter", "/gallery/?size=1024x1536"),
    ]
    print(f"gallery, {args.rows} generations, {connection.vendor}")
    print(f"{'case':<24} {'ms (best of 5)':>15} {'queries':>8}")
    warnings.filterwarnings("ignore", message="No directory at")
    for name, url in cases:
        ms, count = measure(client, url)
        print(f"{name:<24} {ms:>15.1f} {count:>8}")


if __name__ == "__main__":
    main()
