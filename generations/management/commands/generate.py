import time

from django.core.management.base import BaseCommand, CommandError

from generations.dashboard.forms import parse_size
from generations.images.ingest import location
from generations.lifecycle import batches, services
from generations.management.batch_follow import batch_follow, batch_queued
from generations.management.creating import command_user, refusals_as_errors
from generations.models import Generation


class Command(BaseCommand):
    help = "Create a generation exactly as the site does (credits included)."

    def add_arguments(self, parser):
        parser.add_argument("prompt")
        parser.add_argument("--provider", default=None)
        parser.add_argument("--size", default="1024x1024", help="WxH, e.g. 1024x1536")
        parser.add_argument("--seed", type=int, default=None, help="With --n: the first of n seeds")
        parser.add_argument("--n", type=int, default=1, help="How many images (a batch when more than 1)")
        parser.add_argument("--prompt-extend", action="store_true")
        parser.add_argument("--user", default=None, help="Username (default: the first admin)")
        parser.add_argument("--wait", action="store_true", help="Follow it to the end")
        parser.add_argument("--timeout", type=float, default=600)

    def handle(self, *args, **opts):
        user = command_user(opts["user"])
        if opts["n"] != 1:
            return self._batch(user, opts)
        with refusals_as_errors():
            width, height = parse_size(opts["size"])
            generation = services.generation_create(
                user=user,
                prompt=opts["prompt"],
                width=width,
                height=height,
                seed=opts["seed"],
                prompt_extend=opts["prompt_extend"],
                provider=opts["provider"],
            )
        self.stdout.write(
            f"generation {generation.pk} queued on {generation.provider} "
            f"({generation.size}, {generation.credits_cost} credits)"
        )
        if opts["wait"]:
            self._wait(generation, opts["timeout"])

    def _batch(self, user, opts):
        if opts["n"] < 1:
            raise CommandError("--n must be at least 1.")
        with refusals_as_errors():
            width, height = parse_size(opts["size"])
            items = batches.items_repeat(
                prompt=opts["prompt"],
                width=width,
                height=height,
                n=opts["n"],
                seed=opts["seed"],
                prompt_extend=opts["prompt_extend"],
            )
            batch = batches.batch_create(user=user, items=items, provider=opts["provider"])
        batch_queued(self, batch)
        if opts["wait"]:
            batch_follow(self, batch, timeout=opts["timeout"])

    def _wait(self, generation, timeout):
        """Follow one generation to its end."""
        start, last, hinted = time.monotonic(), None, False
        while True:
            generation.refresh_from_db()
            if generation.status != last:
                last = generation.status
                self.stdout.write(f"  {time.monotonic() - start:6.1f}s  {last}")
            if generation.is_finished:
                break
            elapsed = time.monotonic() - start
            if last == Generation.Status.QUEUED and elapsed > 15 and not hinted:
                hinted = True
                self.stderr.write("  still queued: is a worker running? (`make run` starts one)")
            if elapsed > timeout:
                raise CommandError(f"Gave up waiting after {timeout:.0f}s; it is {last}.")
            time.sleep(0.25)
        if generation.status != Generation.Status.SUCCEEDED:
            raise CommandError(f"{generation.status}: {generation.error_code}: {generation.error_message}")
        self.stdout.write(self.style.SUCCESS(f"stored: {location(generation.image.name)}"))
        self.stdout.write(
            f"  {generation.image_width}x{generation.image_height}, "
            f"{generation.image_bytes} bytes, sha256 {generation.sha256}, "
            f"seed {generation.seed_used}"
        )
