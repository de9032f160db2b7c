"""Pipeline: a provider that answers at once with a 1.5 MB PNG on 127.0.0.1;
the site stores it on S3 (SeaweedFS) with its thumbnail. Beside it the floor:
the same download and upload by a plain httpx + boto3 script.

    python bench/pipeline.py [--quick] [--workers 8] [--consumers default,one-process,process]

- latency: one generation at a time, created_at -> finished_at (stored,
  thumbnail made, credits captured); the floor: one download + upload.
- throughput: after a warm-up, N generations created at once for one running
  consumer; images/s from the first create to the last stored. The floor: N
  downloads + uploads on as many threads as the consumer has workers.
- one row per way of running the consumer's workers: the site's default
  (spread over one process per core, threads in each: generations.runtime.consumer),
  all of them threads of one process (HUEY_WORKER_PROCESSES=1, sharing one
  interpreter lock), and Huey's process workers (one task per process).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402


def big_png(width: int = 1024, height: int = 1024, noise_rows: int = 500) -> bytes:
    """About 1.5 MB: random noise on top (incompressible), a gradient below."""
    from PIL import Image

    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.frombytes("RGB", (width, noise_rows), os.urandom(width * noise_rows * 3))
    image.paste(noise, (0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def fake_provider(png: bytes):
    from tests.fakes.openai_compat import OpenAIHandler
    from tests.fakes.server import FakeServer

    class Handler(OpenAIHandler):
        def image_data(self, width, height, key, mark):
            return png

    return FakeServer(Handler)


def site_latency(user, count: int) -> list[float]:
    from generations.lifecycle import services
    from generations.models import Generation

    seconds = []
    for i in range(count):
        g = services.generation_create(user=user, prompt=f"latency {i}", width=1024, height=1024)
        while not Generation.objects.filter(pk=g.pk, status__in=Generation.FINISHED).exists():
            time.sleep(0.005)
        g.refresh_from_db()
        assert g.status == Generation.Status.SUCCEEDED, g.error_message
        seconds.append((g.finished_at - g.created_at).total_seconds())
    return seconds


def create_and_wait(user, count: int, label: str) -> float:
    """Create `count` generations at once; seconds until every one has ended."""
    from generations.lifecycle import services
    from generations.models import Generation

    t0 = time.monotonic()
    for i in range(count):
        services.generation_create(user=user, prompt=f"{label} {i}", width=1024, height=1024)
    while Generation.objects.filter(status__in=Generation.IN_FLIGHT).exists():
        time.sleep(0.02)
    return time.monotonic() - t0


def site_throughput(user, count: int, workers: int) -> float:
    """Images/s of one consumer, after a warm-up that gives every worker
    thread its S3 and database connections."""
    from generations.models import Generation

    create_and_wait(user, 2 * workers, "warm-up")
    rate = count / create_and_wait(user, count, "throughput")
    failed = Generation.objects.exclude(status=Generation.Status.SUCCEEDED)
    assert not failed.exists(), list(failed.values_list("error_message", flat=True)[:3])
    return rate


def floor_copy(s3, url: str) -> float:
    """What the site's copy must at least do: GET the image, PUT it to S3."""
    import httpx

    from tests.helpers_s3 import BUCKET

    t0 = time.monotonic()
    body = httpx.get(url).content
    s3.put_object(Bucket=BUCKET, Key=f"floor/{uuid.uuid4().hex}.png", Body=body, ContentType="image/png")
    return time.monotonic() - t0


def floor(fake, png: bytes, s3, count: int, workers: int) -> tuple[list[float], float]:
    url = fake.add_image("floor.png", png)
    latencies = [floor_copy(s3, url) for _ in range(count // 4 or 1)]
    t0 = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: floor_copy(s3, url), range(count)))
    return latencies, count / (time.monotonic() - t0)


CONSUMERS = {  # name -> (worker type, environment, label for its workers)
    "default": ("thread", {}, lambda workers: f"default: {common.consumer_label(workers)}"),
    "one-process": (
        "thread",
        {"HUEY_WORKER_PROCESSES": "1"},
        lambda workers: common.consumer_label(workers, 1),
    ),
    "process": ("process", {}, lambda workers: f"{workers} processes (Huey process workers)"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--consumers", default="default,one-process,process")
    args = parser.parse_args()
    from tests.fakes.openai_compat import API_KEY

    count = 16 if args.quick else 100
    png = big_png()
    weed = common.seaweed()
    with fake_provider(png) as fake:
        common.setup_env(
            "pipeline",
            s3=True,
            OPENAI_COMPAT_BASE_URL=fake.url,
            OPENAI_COMPAT_API_KEY=API_KEY,
            DEFAULT_PROVIDER="openai_compat",
        )
        import django

        django.setup()
        user = common.users(1)[0]
        sites = []
        for name in args.consumers.split(","):
            kind, env, label = CONSUMERS[name]
            consumer = common.consumer(workers=args.workers, worker_type=kind, env=env)
            rate = site_throughput(user, count, args.workers)
            sites.append((label(args.workers), site_latency(user, count // 4), rate))
            common.stop(consumer)
        floor_lat, floor_rate = floor(fake, png, weed.client(), count, args.workers)
    image = f"{len(png) / 1e6:.2f} MB PNG 1024x1024"
    print(
        common.table(
            ["path", "consumer", "image", "p50 create -> stored (ms)", "images/s", "site / floor"],
            [
                *(
                    [
                        "site: provider -> S3 + thumbnail + ledger",
                        label,
                        image,
                        common.median_ms(lat),
                        round(rate, 1),
                        f"{rate / floor_rate:.0%}",
                    ]
                    for label, lat, rate in sites
                ),
                [
                    "floor: httpx GET + boto3 put_object",
                    f"{args.workers} threads",
                    image,
                    common.median_ms(floor_lat),
                    round(floor_rate, 1),
                    "100%",
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()
