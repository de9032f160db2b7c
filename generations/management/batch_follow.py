"""Following a batch from a management command: a progress bar, then which
images failed; CommandError (a non-zero exit) when any did."""

import time

from django.core.management.base import CommandError

from generations.lifecycle import batches
from generations.models import Batch, Generation

BAR = 30


def batch_queued(command, batch: Batch) -> None:
    progress = batches.batch_progress(batch)
    command.stdout.write(f"batch {batch.pk}: {progress.total} images queued, {progress.credits} credits held")


def batch_follow(command, batch: Batch, *, timeout: float) -> None:
    """Print n of m done (a bar redrawn in place on a terminal, a line per
    change otherwise) until every image has ended or `timeout` passes."""
    start, last = time.monotonic(), None
    tty = command.stdout.isatty()
    while True:
        progress = batches.batch_progress(batch)
        line = _bar(progress)
        if line != last:
            command.stdout.write(("\r" if tty else "") + line, ending="" if tty else "\n")
            last = line
        if progress.finished:
            break
        if time.monotonic() - start > timeout:
            raise CommandError(f"Gave up waiting after {timeout:.0f}s: {line.strip()}")
        time.sleep(0.5)
    if tty:
        command.stdout.write("")
    _report(command, batch, progress)


def _bar(progress: batches.Progress) -> str:
    filled = BAR * progress.done // max(progress.total, 1)
    return (
        f"[{'#' * filled}{'.' * (BAR - filled)}] {progress.done}/{progress.total} done: "
        f"{progress.succeeded} stored, {progress.failed} failed, {progress.canceled} canceled"
    )


def _report(command, batch: Batch, progress: batches.Progress) -> None:
    for generation in batches.batch_images(batch).exclude(status=Generation.Status.SUCCEEDED):
        command.stderr.write(
            f"  image {generation.batch_index + 1} ({generation.prompt[:60]!r}, seed "
            f"{generation.seed_used}): {generation.status} "
            f"{generation.error_code}: {generation.error_message}"
        )
    if progress.failed or progress.canceled:
        raise CommandError(
            f"{progress.failed} failed and {progress.canceled} canceled of {progress.total} "
            "(refunded); the rest are stored."
        )
    command.stdout.write(command.style.SUCCESS(f"all {progress.total} images stored (batch {batch.pk})"))
