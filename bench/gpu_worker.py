"""Benchmark the GPU worker's pipeline calls: seconds per image at batch 1, 2
and 4, images per minute and peak GPU memory, without and with torch.compile.

    python bench/gpu_worker.py                      # full-size random bf16 Z-Image-Turbo on cuda
    python bench/gpu_worker.py --model DIR          # a real model directory
    python bench/gpu_worker.py --tiny --device cpu  # tiny config, seconds on a CPU (CI)

Random weights time the same as trained ones: the work is the shapes, not the
values. It calls the worker's own Engine.generate (per-image generators and
prompts, 8 steps, guidance 0), so the figures are what the worker does per
batch, without HTTP and PNG encoding. Needs the project installed
(`pip install -e '.[gpu]'`) for `generations` to import.
"""

import argparse
import time

import torch
from diffusers import __version__ as diffusers_version

from generations.inference.engine import Engine
from generations.inference.loader import LoadOptions, compile_transformer, load_pipeline
from generations.inference.metrics import Metrics
from generations.inference.random_model import FULL, TINY, build_pipeline
from generations.inference.schema import TURBO_STEPS, Job

# Prompts of different lengths, as real batches have (the padding mask is used).
PROMPTS = [
    "A steam locomotive shaped like a zipper pulls open a thick blanket of snow, revealing spring "
    "meadows beneath; poster design, bold typography reading Z-IMAGE-TURBO, soft morning light.",
    "Portrait of an elderly fisherman mending nets on a wooden pier at dusk, film grain, 85mm lens.",
    "A bowl of ramen on a rainy neon-lit street counter, steam rising, cinematic, shallow depth of field.",
    "Isometric illustration of a tiny library inside a glass terrarium, warm lamps, intricate details.",
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="Real model directory (default: random weights)")
    parser.add_argument("--tiny", action="store_true", help="Tiny random model (CI, CPU)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default=None, help="Default: bfloat16 on cuda, float32 elsewhere")
    parser.add_argument("--size", type=int, default=None, help="Square side (default 1024; 64 with --tiny)")
    parser.add_argument("--batches", default="1,2,4")
    parser.add_argument("--repeats", type=int, default=3, help="Timed calls per batch size")
    parser.add_argument("--compile", choices=("off", "on", "both"), default="both")
    args = parser.parse_args(argv)
    args.dtype = args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32")
    args.size = args.size or (64 if args.tiny else 1024)
    return args


def make_pipeline(args):
    if args.model:
        return load_pipeline(LoadOptions(args.model, device=args.device, dtype=args.dtype))
    pipe = build_pipeline(TINY if args.tiny else FULL, device=args.device, dtype=getattr(torch, args.dtype))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def measure(engine: Engine, batch: int, args) -> dict:
    """One untimed call (warm-up; compiles when compiled), then the mean of the timed calls."""
    jobs = [Job(PROMPTS[i % len(PROMPTS)], args.size, args.size, TURBO_STEPS, seed=i) for i in range(batch)]
    cuda = args.device.startswith("cuda")
    engine.generate(jobs)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for _ in range(args.repeats):
        engine.generate(jobs)
    if cuda:
        torch.cuda.synchronize()
    per_call = (time.perf_counter() - started) / args.repeats
    peak = f"{torch.cuda.max_memory_allocated() / 2**30:.1f}" if cuda else "n/a"
    return {
        "batch": batch,
        "call": per_call,
        "image": per_call / batch,
        "per_min": 60 * batch / per_call,
        "peak": peak,
    }


def main(argv=None) -> None:
    args = parse_args(argv)
    pipe = make_pipeline(args)
    engine = Engine(pipe, args.device, Metrics())
    batches = [int(b) for b in args.batches.split(",")]
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.compile]
    rows = []
    for compiled in modes:
        if compiled:
            compile_transformer(pipe)
        rows += [{"compile": "yes" if compiled else "no", **measure(engine, b, args)} for b in batches]
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device
    model = args.model or ("tiny random" if args.tiny else "full-size random")
    print(
        f"Z-Image-Turbo ({model}), {device}, {args.dtype}, {args.size}x{args.size}, {TURBO_STEPS} steps, "
        f"mean of {args.repeats}; torch {torch.__version__}, diffusers {diffusers_version}"
    )
    print("| compile | batch | s / image | images / min | s / call | peak GPU GiB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['compile']} | {r['batch']} | {r['image']:.3f} | {r['per_min']:.1f} | {r['call']:.3f} "
            f"| {r['peak']} |"
        )


if __name__ == "__main__":
    main()
