"""The cheapest benchmark's `--quick` mode still runs and prints its table, so
the scripts in bench/ do not rot. Needs PostgreSQL and Redis, like them."""

import subprocess
import sys

import pytest
from django.conf import settings

from tests.helpers import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (settings.IS_POSTGRES and settings.REDIS_URL), reason="the benchmarks run on PostgreSQL and Redis"
    ),
]


def bench(*args: str) -> list[str]:
    """A bench script's output lines, on the test run's PostgreSQL server and Redis."""
    db = settings.DATABASES["default"]
    server = (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    )
    out = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        timeout=120,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "BENCH_PG": server, "BENCH_REDIS": settings.REDIS_URL},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()


def test_listing_quick_prints_one_table():
    lines = bench("bench/listing.py", "--quick")
    assert lines[0].startswith("| generations") and len(lines) == 2 + 8
    assert all(line.endswith("| 200  |") for line in lines[2:])


def test_web_starvation_small_prints_one_table():
    lines = bench(
        "bench/web_starvation.py", "--concurrency", "6", "--delay", "1", "--threads", "4", "--baseline", "1"
    )
    assert lines[0].startswith("gunicorn_conf.py: 1 process(es) x 4 threads")
    assert lines[2].startswith("| requests") and len(lines) == 2 + 2 + 3
    cells = [cell.strip() for cell in lines[-1].strip("|").split("|")]
    assert cells[0].startswith("POST /v1/images/generations") and cells[1] == "6"
    assert int(cells[5]) + int(cells[6]) == 6 and cells[7] == "0"  # each answered 200 or 429


def test_faults_small_run_meets_both_cases():
    lines = bench("bench/faults.py", "--n-slow", "3", "--normal", "3", "--slow-host", "10", "--creates", "2")
    assert lines[0].startswith("| case") and len(lines) == 2 + 2
    assert all(line.endswith("| yes |") for line in lines[2:])


def test_fairness_quick_puts_b_ahead_of_the_batch():
    lines = bench("bench/fairness.py", "--quick")
    assert lines[1].startswith("| mode") and len(lines) == 1 + 2 + 2
    fair, fifo = ([cell.strip() for cell in line.strip("|").split("|")] for line in lines[3:])
    assert fair[0] == "fair share" and fifo[0] == "first come, first served"
    assert float(fair[2]) < float(fifo[2])  # B's p99 wait: not behind A's batch
