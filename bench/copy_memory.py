"""Copy memory: a 50 MB image copied to S3 (SeaweedFS); the peak RSS growth
of the worker process, per step.

    python bench/copy_memory.py [--quick]

The image: a 2048x2048 PNG (4.2 MP, the most pixels the site asks any
provider for) whose pixels are random and stored uncompressed (12.6 MB of
image data), followed by 1 MB private ancillary chunks (`bnCh`, which every
PNG reader skips) up to 48 MB, just under IMAGE_MAX_BYTES (50 MiB). A 50 MB
file at an allowed pixel size must be mostly such non-pixel data; decoding
it still needs its 2048x2048 pixels in memory (16 MB as Pillow holds RGB).

Each step runs in a fresh child process that first stores a small image the
same way (so imports, S3 clients and Pillow's plugins are loaded), then
reads its RSS, runs the step while a thread samples VmRSS every millisecond,
and reports the peak minus the starting RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

STEPS = {
    "copy-boto3-default": "copy: download + sha256 + upload, boto3's default transfer "
    "(8 MB parts x 10 threads)",
    "copy": "copy: download + sha256 + upload, site setting (5 MB parts, 1 thread)",
    "thumbnail": "decode + verify + WebP thumbnail (from the local temp file)",
    "store_image": "store_image end to end (copy + decode + thumbnail + 2 uploads)",
}


def chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def big_png(path: Path, side: int, total: int) -> int:
    """Write the test image; returns its size in bytes."""
    from PIL import Image

    noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    noise.save(path, "PNG", compress_level=0)
    body = path.read_bytes()
    iend = body.rindex(b"IEND") - 4
    filler = b"".join(chunk(b"bnCh", os.urandom(1 << 20)) for _ in range(max(0, (total - len(body)) >> 20)))
    path.write_bytes(body[:iend] + filler + body[iend:])
    return path.stat().st_size


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class PeakRSS:
    """The highest VmRSS seen while the block runs, minus the RSS before it."""

    def __enter__(self):
        self.start, self.peak, self.done = rss_kb(), 0, False
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while not self.done:
            self.peak = max(self.peak, rss_kb())
            time.sleep(0.001)

    def __exit__(self, *exc):
        self.done = True
        self.thread.join()
        self.growth_mb = (self.peak - self.start) / 1024


def copy(url: str, default_transfer: bool) -> None:
    """The site's own copy: fetch() into a spooled temp file, then _save()."""
    from django.core.files import File
    from django.core.files.storage import default_storage

    from generations.images import ingest

    if default_transfer:
        from boto3.s3.transfer import TransferConfig

        default_storage.transfer_config = TransferConfig()
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as tmp:
        ingest.fetch(url, tmp, max_bytes=50 * 1024 * 1024, allow_private=True)
        tmp.seek(0)
        ingest._save(f"bench/{os.getpid()}-{time.time_ns()}.png", File(tmp))


def thumbnail(path: str) -> None:
    from generations.images import ingest

    with open(path, "rb") as f, ingest.decode(f) as image:
        ingest.thumbnail(image)


def store(url: str, side: int) -> None:
    from generations.images.ingest import store_image
    from generations.providers import GenerationResult

    store_image(
        base_name=f"bench/{os.getpid()}-{time.time_ns()}",
        result=GenerationResult(image_url=url),
        expect=(side, side),
        internal=True,
    )


def child(step: str, url: str, small_url: str, path: str, side: int) -> None:
    """Run one step in this fresh process and print its peak RSS growth (MB)."""
    import django

    django.setup()
    store(small_url, 512)  # warm-up: imports, S3 client, Pillow plugins
    actions = {
        "copy-boto3-default": lambda: copy(url, True),
        "copy": lambda: copy(url, False),
        "thumbnail": lambda: thumbnail(path),
        "store_image": lambda: store(url, side),
    }
    with PeakRSS() as peak:
        t0 = time.monotonic()
        actions[step]()
    print(json.dumps({"mb": round(peak.growth_mb, 1), "s": round(time.monotonic() - t0, 2)}))


def serve(directory: str) -> str:
    """A plain static file server in its own process (not the worker's RSS)."""
    port = common.free_port()
    common.start([sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1", "-d", directory])
    common.wait_port(port)
    return f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=5)
    args = parser.parse_args()
    if args.child:
        return child(*args.child[:4], int(args.child[4]))
    side, total = (1024, 8 << 20) if args.quick else (2048, 48 << 20)
    directory = tempfile.mkdtemp(prefix="zbench-copy-")
    size = big_png(Path(directory, "big.png"), side, total)
    big_png(Path(directory, "small.png"), 512, 0)
    common.seaweed()
    env = common.setup_env("copymem", s3=True)
    base = serve(directory)
    rows = []
    for step, label in STEPS.items():
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                step,
                f"{base}/big.png",
                f"{base}/small.png",
                f"{directory}/big.png",
                str(side),
            ],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append([label, result["mb"], result["s"]])
    print(
        common.table(
            [f"step ({size / 1e6:.1f} MB PNG, {side}x{side})", "peak RSS growth (MB)", "seconds"], rows
        )
    )


if __name__ == "__main__":
    main()
