"""`python manage.py gpu_worker --model DIR`: parse the options and hand over to
generations.inference, which needs neither the database nor the models."""

import os

from django.core.management.base import BaseCommand, CommandError

from generations.inference.loader import (
    ATTENTION_BACKENDS,
    DTYPES,
    LoadOptions,
    ModelDirError,
    check_model_dir,
)


class Command(BaseCommand):
    help = "Serve Z-Image-Turbo from a local model directory on this machine's GPU."
    requires_system_checks = []  # a GPU box needs no database to serve images

    def add_arguments(self, parser):
        parser.add_argument(
            "--model",
            required=True,
            help="Local Z-Image-Turbo directory (model_index.json, transformer/, ...)",
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--device", default="cuda")
        parser.add_argument("--dtype", default="bfloat16", choices=DTYPES)
        parser.add_argument(
            "--attention",
            default="native",
            choices=ATTENTION_BACKENDS,
            help="Attention backend; all choices accept the padding mask batching needs",
        )
        parser.add_argument("--max-batch", type=int, default=4)
        parser.add_argument(
            "--max-wait-ms",
            type=float,
            default=10.0,
            help="How long a request waits for others of its size to batch with",
        )
        parser.add_argument("--queue-limit", type=int, default=32, help="Waiting requests before 503")
        parser.add_argument("--compile", action="store_true", help="torch.compile the transformer blocks")
        parser.add_argument(
            "--api-key",
            default=os.environ.get("GPU_WORKER_API_KEY", ""),
            help="Bearer key clients must send (default: $GPU_WORKER_API_KEY; none: open)",
        )

    def handle(self, *args, **opts):
        if opts["max_batch"] < 1 or opts["queue_limit"] < 1:
            raise CommandError("--max-batch and --queue-limit must be at least 1.")
        try:  # before the seconds spent importing torch
            check_model_dir(opts["model"])
        except ModelDirError as exc:
            raise CommandError(str(exc)) from exc
        try:  # torch and diffusers come with the gpu extra, which the site does not need
            from generations.inference.server import ServeOptions, serve
        except ImportError as exc:
            raise CommandError(f"The GPU worker needs the gpu extra: pip install '.[gpu]' ({exc}).") from exc
        load = LoadOptions(
            model_dir=opts["model"],
            device=opts["device"],
            dtype=opts["dtype"],
            attention=opts["attention"],
            compile=opts["compile"],
        )
        serve_options = ServeOptions(
            host=opts["host"],
            port=opts["port"],
            max_batch=opts["max_batch"],
            max_wait_ms=opts["max_wait_ms"],
            queue_limit=opts["queue_limit"],
            api_key=opts["api_key"],
        )
        try:
            serve(load, serve_options, announce=lambda line: self.stdout.write(line))
        except ModelDirError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            self.stdout.write("stopped")
