"""Fair share: user A queues a batch of 500 images, user B asks for one image
every 5 s for 60 s, on a provider taking 2 s a call with 4 call slots, served
by two consumers (PostgreSQL + Redis). Run once with fair share on and once
first come, first served (FAIR_SHARE=0).

    python bench/fairness.py [--quick] [--batch 500] [--call 2] [--slots 4] [--every 5] [--for 60]

- B's wait: queued -> running (created_at -> started_at), p50 and p99 of B's images;
  goal with fair share: p99 at most one provider call plus 1 s.
- A's throughput: A's images / (A's last stored - A's batch created); goal:
  at least 95% of first come, first served.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402


def run(mode: str, env: dict, args, a, b) -> dict:
    """One round: A's batch, then B's stream; every image of both waited for."""
    from generations.lifecycle import batches, services
    from generations.models import Batch, Generation

    consumers = [
        common.consumer(workers=8, env={**env, "FAIR_SHARE": "1" if mode == "fair" else "0"})
        for _ in range(2)
    ]
    prompt = f"[slow:{args.call}] a product shot"
    batch = batches.batch_create(
        user=a, items=batches.items_repeat(prompt=prompt, width=512, height=512, n=args.batch)
    )
    singles = []
    start = time.monotonic()
    for i in range(int(args.for_s // args.every)):
        time.sleep(max(0, start + i * args.every - time.monotonic()))
        singles.append(services.generation_create(user=b, prompt=f"{prompt} b{i}", width=512, height=512).pk)
    mine = Generation.objects.filter(pk__in=singles)
    theirs = Generation.objects.filter(batch=batch)
    while (mine | theirs).filter(status__in=Generation.IN_FLIGHT).exists():
        time.sleep(0.2)
    for consumer in consumers:
        common.stop(consumer)
    assert not (mine | theirs).exclude(status="succeeded").exists(), "an image failed"
    waits = [g.wait_seconds for g in mine]
    last = max(theirs.values_list("finished_at", flat=True))
    created = Batch.objects.get(pk=batch.pk).created_at
    return {
        "mode": "fair share" if mode == "fair" else "first come, first served",
        "b_p50": common.median(waits),
        "b_p99": common.pct(waits, 99),
        "a_rate": args.batch / (last - created).total_seconds(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="40 images, 0.5 s calls, B for 5 s")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--call", type=float, default=2.0, help="seconds a provider call takes")
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--for", dest="for_s", type=float, default=60.0)
    args = parser.parse_args()
    if args.quick:
        args.batch, args.call, args.every, args.for_s = 40, 0.5, 1.0, 5.0
    from tests.fakes.openai_compat import API_KEY, OpenAIHandler
    from tests.fakes.server import FakeServer

    with FakeServer(OpenAIHandler) as fake:
        env = common.setup_env(
            "fairness",
            OPENAI_COMPAT_BASE_URL=fake.url,
            OPENAI_COMPAT_API_KEY=API_KEY,
            DEFAULT_PROVIDER="openai_compat",
            CONFIG_CACHE_SECONDS="0",
        )
        import django

        django.setup()
        from generations.models import ProviderConfig

        ProviderConfig.objects.create(name="openai_compat", max_concurrency=args.slots, timeout_s=60)
        a, b = common.users(2)
        rounds = [run(mode, env, args, a, b) for mode in ("fair", "fifo")]
    fair, fifo = rounds
    goal = args.call + 1
    print(
        f"provider call {args.call:g} s, {args.slots} call slots, 2 consumers x 8 workers; "
        f"A: a batch of {args.batch}; B: one image every {args.every:g} s for {args.for_s:g} s"
    )
    print(
        common.table(
            ["mode", "B wait p50 (s)", "B wait p99 (s)", "A images/s", "A vs first come", "goal met"],
            [
                [
                    r["mode"],
                    f"{r['b_p50']:.2f}",
                    f"{r['b_p99']:.2f}",
                    f"{r['a_rate']:.2f}",
                    f"{r['a_rate'] / fifo['a_rate']:.0%}",
                    ("yes" if r["b_p99"] <= goal and r["a_rate"] >= 0.95 * fifo["a_rate"] else "no")
                    if r is fair
                    else "-",
                ]
                for r in rounds
            ],
        )
    )


if __name__ == "__main__":
    main()
