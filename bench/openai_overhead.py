"""OpenAI endpoint overhead: `POST /v1/images/generations` through the site
and through LiteLLM proxy, both forwarding to one fake upstream that answers
at once; overhead = p50 through it minus p50 straight to the upstream.

    python bench/openai_overhead.py [--quick] [--litellm /tmp/litellm-venv/bin/litellm] [--s3]

The site holds credits, runs the generation in the request (provider
openai_compat, b64_json, pointing at the fake), stores the image (local
files), captures, and answers b64_json; a real consumer runs beside it, as
on a site. LiteLLM (its own virtualenv, no database, one worker; docs:
shared notes) only forwards. One client, one request at a time, closed
loop, for the same duration each. `--s3`: the site stores on S3 (SeaweedFS
on loopback) instead of local files.

A second table says where the thumbnail went: an answered image gets one
when a page first shows it, so it times the API's thumbnail link for images
the run made, the first request (which makes it) and a later one.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402
from bench.create import load  # noqa: E402

BODY = json.dumps(
    {
        "model": "z-image-turbo",
        "prompt": "A lighthouse at dawn",
        "n": 1,
        "size": "1024x1024",
        "response_format": "b64_json",
    }
)
LITELLM_CONFIG = """model_list:
  - model_name: z-image-turbo
    litellm_params:
      model: hosted_vllm/z-image-turbo
      api_base: {upstream}/v1
      api_key: sk-fake
    model_info: {{mode: image_generation}}
general_settings:
  master_key: {key}
"""


def upstream():
    """The fake OpenAI-compatible server, with one cached PNG per size (its
    own time is the floor); the site and LiteLLM both send the key sk-fake."""
    from tests.fakes.openai_compat import OpenAIHandler
    from tests.fakes.server import FakeServer, png_bytes

    cache: dict = {}

    class Handler(OpenAIHandler):
        api_key = "sk-fake"

        def image_data(self, width, height, key, mark):
            if (width, height) not in cache:
                cache[width, height] = png_bytes(width, height, "bench")
            return cache[width, height]

    return FakeServer(Handler)


def litellm(binary: str, upstream_url: str) -> tuple[int, str]:
    """LiteLLM proxy as the notes say; (port, master key)."""
    key = "sk-bench-" + secrets.token_hex(8)
    config = Path(tempfile.mkdtemp(prefix="zbench-litellm-"), "litellm.yaml")
    config.write_text(LITELLM_CONFIG.format(upstream=upstream_url, key=key))
    port = common.free_port()
    common.start(
        [binary, "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
        log=str(config.with_suffix(".log")),
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "LITELLM_MODE": "PRODUCTION"},
        inherit=False,
    )  # no DATABASE_URL for it
    common.wait_port(port, timeout=120)
    return port, key


def measure(port: int, token: str, duration: float) -> dict:
    spec = {
        "port": port,
        "method": "POST",
        "path": "/v1/images/generations",
        "body": BODY,
        "tokens": [token],
        "connections": 1,
        "duration": duration,
        "rate": 0,
    }
    load({**spec, "duration": 1})  # warm-up
    return load(spec)


def thumbnail_showings(port: int, token: str, count: int) -> list[list]:
    """First and later requests for `count` answered images' thumbnails."""
    import httpx

    from generations.models import Generation

    pks = list(Generation.objects.filter(thumbnail="").exclude(image="").values_list("pk", flat=True)[:count])
    rows = []
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for label in ("first request (makes it)", "later request (stored)"):
            ms, statuses = [], {}
            for pk in pks:
                started = time.perf_counter()
                status = client.get(f"/api/v1/generations/{pk}/thumbnail/").status_code
                ms.append((time.perf_counter() - started) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
            rows.append(
                [
                    label,
                    len(ms),
                    round(common.median(ms), 2),
                    round(common.pct(ms, 99), 2),
                    " ".join(f"{k}:{v}" for k, v in sorted(statuses.items())),
                ]
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--litellm", default="/tmp/litellm-venv/bin/litellm")
    parser.add_argument("--s3", action="store_true")
    args = parser.parse_args()
    duration = 3 if args.quick else 15
    if args.s3:
        common.seaweed()
    with upstream() as fake:
        common.setup_env(
            "openai",
            s3=args.s3,
            OPENAI_COMPAT_BASE_URL=fake.url,
            OPENAI_COMPAT_API_KEY="sk-fake",
            DEFAULT_PROVIDER="openai_compat",
            OPENAI_COMPAT_RESPONSE_FORMAT="b64_json",
        )
        import django

        django.setup()
        token = common.users_with_tokens(1)[0]
        common.consumer(workers=8)
        site = common.gunicorn(workers=2, threads=4)
        name = "site, S3" if args.s3 else "site"
        results = {
            "upstream directly": measure(fake.server_address[1], "sk-fake", duration),
            name: measure(site, token, duration),
        }
        if Path(args.litellm).exists():
            port, key = litellm(args.litellm, fake.url)
            results["LiteLLM proxy"] = measure(port, key, duration)
        showings = thumbnail_showings(site, token, 50 if args.quick else 200)
    floor = results["upstream directly"]["p50_ms"]
    print(
        common.table(
            ["path", "requests", "p50 ms", "p99 ms", "overhead p50 ms", "statuses"],
            [
                [
                    name,
                    r["sent"],
                    r["p50_ms"],
                    r["p99_ms"],
                    round(r["p50_ms"] - floor, 2),
                    " ".join(f"{k}:{v}" for k, v in sorted(r["statuses"].items())),
                ]
                for name, r in results.items()
            ],
        )
    )
    print()
    print(
        common.table(
            ["thumbnail link, answered images", "requests", "p50 ms", "p99 ms", "statuses"], showings
        )
    )


if __name__ == "__main__":
    main()
