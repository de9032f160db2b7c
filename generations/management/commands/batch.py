import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from generations.dashboard.forms import parse_size
from generations.lifecycle import batches
from generations.management.batch_follow import batch_follow, batch_queued
from generations.management.creating import command_user, refusals_as_errors


class Command(BaseCommand):
    help = (
        "Make a batch from a prompt list: a text file (one prompt a line), CSV with a 'prompt' "
        "column (and optional size, seed, prompt_extend) or JSONL; every image is held at once "
        "or none. Follows it with a progress bar and exits non-zero if any image failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The prompt list; - reads standard input")
        parser.add_argument("--name", default="", help="The batch's name (default: the file's)")
        parser.add_argument("--provider", default=None)
        parser.add_argument("--size", default="1024x1024", help="For lines that give none")
        parser.add_argument("--prompt-extend", action="store_true", help="For lines that give none")
        parser.add_argument("--user", default=None, help="Username (default: the first admin)")
        parser.add_argument("--no-wait", action="store_true", help="Queue it and exit")
        parser.add_argument("--timeout", type=float, default=24 * 3600)

    def handle(self, *args, **opts):
        user = command_user(opts["user"])
        path = opts["file"]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        with refusals_as_errors():
            width, height = parse_size(opts["size"])
            items = batches.items_parse(
                text, width=width, height=height, prompt_extend=opts["prompt_extend"], filename=path
            )
            batch = batches.batch_create(
                user=user,
                items=items,
                provider=opts["provider"],
                name=opts["name"] or ("" if path == "-" else Path(path).stem),
            )
        batch_queued(self, batch)
        if not opts["no_wait"]:
            batch_follow(self, batch, timeout=opts["timeout"])
