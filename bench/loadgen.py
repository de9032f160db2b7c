"""A small HTTP/1.1 load generator, run as its own process so it does not
share the interpreter with what it measures.

    python bench/loadgen.py SPEC.json

SPEC: {"port", "method", "path", "body" (JSON text or null), "tokens" (one
per connection, round robin), "connections", "duration", "rate" (0: closed
loop, each connection sends its next request when the answer arrives; else
open loop at `rate` requests/s over all connections, latency counted from
the time each request was due, so a slow server cannot hide its queueing)}.
Prints {"sent", "statuses", "rps", "p50_ms", "p99_ms"} as JSON.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time


def request_bytes(spec: dict, token: str) -> bytes:
    body = (spec.get("body") or "").encode()
    head = [
        f"{spec['method']} {spec['path']} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        f"Content-Length: {len(body)}",
    ]
    if body:
        head.append("Content-Type: application/json")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, server closes the connection)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower().split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    await reader.readexactly(int(headers.get("content-length", 0)))
    return int(head[0].split()[1]), headers.get("connection") == "close"


async def connection(spec: dict, index: int, due: list[float], results: list) -> None:
    token = spec["tokens"][index % len(spec["tokens"])]
    payload = request_bytes(spec, token)
    reader = writer = None
    for when in due:
        wait = when - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        start = when if spec["rate"] else time.monotonic()
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", spec["port"])
        writer.write(payload)
        status, closing = await read_response(reader)
        results.append((status, time.monotonic() - start))
        if closing:
            writer.close()
            reader = writer = None


def schedules(spec: dict, t0: float) -> list:
    """When each connection sends: open loop spreads `rate` evenly; closed loop
    sends as soon as possible until the duration is up."""
    n, duration, rate = spec["connections"], spec["duration"], spec["rate"]
    if not rate:
        return [itertools.repeat(0.0) for _ in range(n)]
    total = int(rate * duration)
    return [[t0 + i / rate for i in range(c, total, n)] for c in range(n)]


async def main(spec: dict) -> dict:
    results: list = []
    t0 = time.monotonic() + 0.2
    tasks = [
        asyncio.create_task(connection(spec, i, due, results)) for i, due in enumerate(schedules(spec, t0))
    ]
    done, pending = await asyncio.wait(tasks, timeout=spec["duration"] + 0.2 + (30 if spec["rate"] else 0))
    for task in pending:
        task.cancel()
    elapsed = time.monotonic() - t0
    for task in done:
        task.result()  # a broken connection is a failed run, not a quiet gap
    latencies = sorted(lat for _, lat in results)
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "sent": len(results),
        "statuses": statuses,
        "rps": round(len(results) / elapsed, 1),
        "p50_ms": ms(latencies, 0.5),
        "p99_ms": ms(latencies, 0.99),
    }


def ms(ordered: list[float], q: float) -> float:
    return round(ordered[int(q * (len(ordered) - 1))] * 1000, 2) if ordered else float("nan")


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(json.dumps(asyncio.run(main(json.load(f)))))
