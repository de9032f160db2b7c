"""Create path: `POST /api/v1/generations/` under gunicorn on PostgreSQL +
Redis, 100 clients, beside a bare view that only authenticates the token.

    python bench/create.py [--quick] [--workers N] [--threads N]

Two loads per endpoint, from bench/loadgen.py in its own process:
- closed loop: 100 connections, each sending its next request as soon as the
  answer comes (the most the site can do; latency is then mostly queueing);
- open loop: 100 connections sending 300 requests/s between them (the
  target rate), latency counted from when each request was due.
Every client is its own user with its own token (one account lock each).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

BODY = json.dumps({"prompt": "A lighthouse at dawn, watercolor", "size": "1024x1024"})
TARGET_RATE = 300


def load(spec: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    out = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "loadgen.py"), f.name],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def measure(port: int, tokens: list[str], path: str, *, duration: float, rate: int) -> dict:
    spec = {
        "port": port,
        "method": "POST",
        "path": path,
        "body": BODY,
        "tokens": tokens,
        "connections": len(tokens),
        "duration": duration,
        "rate": rate,
    }
    return load(spec)


def row(name: str, mode: str, result: dict) -> list:
    return [
        name,
        mode,
        result["rps"],
        result["p50_ms"],
        result["p99_ms"],
        " ".join(f"{k}:{v}" for k, v in sorted(result["statuses"].items())),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clients", type=int, default=100)
    args = parser.parse_args()
    common.setup_env("create")
    import django

    django.setup()
    tokens = common.users_with_tokens(10 if args.quick else args.clients)
    port = common.gunicorn(
        workers=args.workers, threads=args.threads, env={"DJANGO_SETTINGS_MODULE": "bench.settings"}
    )
    duration, rate = (2, 50) if args.quick else (10, TARGET_RATE)
    rows = []
    for name, path in [
        ("floor (token auth only)", "/bench/floor/"),
        ("POST /api/v1/generations/", "/api/v1/generations/"),
    ]:
        measure(port, tokens, path, duration=1, rate=0)  # warm every worker's connections
        rows.append(
            row(
                name,
                "1 client, one request at a time",
                measure(port, tokens[:1], path, duration=duration / 2, rate=0),
            )
        )
        rows.append(
            row(
                name,
                f"{len(tokens)} clients, closed loop",
                measure(port, tokens, path, duration=duration, rate=0),
            )
        )
        rows.append(
            row(
                name,
                f"{len(tokens)} clients, open loop {rate}/s",
                measure(port, tokens, path, duration=duration, rate=rate),
            )
        )
    server = f"gunicorn -w {args.workers}" + (f" --threads {args.threads}" if args.threads > 1 else " sync")
    print(common.table(["endpoint", f"load ({server})", "requests/s", "p50 ms", "p99 ms", "statuses"], rows))


if __name__ == "__main__":
    main()
