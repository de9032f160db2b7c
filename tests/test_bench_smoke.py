"""The cheapest benchmark's `--quick` mode still runs and prints its table, so
the scripts in bench/ do not rot. Needs PostgreSQL and Redis, like them."""

import subprocess
import sys

import pytest
from django.conf import settings

from tests.helpers import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (settings.IS_POSTGRES and settings.REDIS_URL),
                       reason="the benchmarks run on PostgreSQL and Redis"),
]


def test_listing_quick_prints_one_table():
    db = settings.DATABASES["default"]
    server = (f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
              f"{db['PORT'] or 5432}")
    out = subprocess.run([sys.executable, "bench/listing.py", "--quick"], cwd=ROOT, timeout=120,
                         capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "BENCH_PG": server,
                              "BENCH_REDIS": settings.REDIS_URL})
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("| generations") and len(lines) == 2 + 8
    assert all(line.endswith("| 200  |") for line in lines[2:])
