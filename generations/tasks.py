"""Huey tasks: thin. Load by id, call a service."""

import logging
from datetime import timedelta

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import library, services

log = logging.getLogger(__name__)


@db_task()
def run_generation(generation_id: str) -> None:
    delay = services.generation_run(generation_id=generation_id)
    if delay is not None:
        run_generation.schedule((generation_id,), delay=delay)


@db_periodic_task(crontab(minute="*"))
def reap_stuck_generations() -> None:
    """A worker killed mid-call leaves a row running: end it and refund it."""
    older_than = timedelta(seconds=settings.REAPER_TIMEOUT)
    for generation in services.stale_running(older_than=older_than):
        log.warning("reaping generation %s stuck in %s", generation.pk, generation.status)
        services.generation_fail(
            generation=generation, code="WorkerLost",
            message="The worker handling this image stopped; your credits were returned.")


@db_periodic_task(crontab(hour="3", minute="17"))
def purge_trash() -> None:
    """Trash older than TRASH_DAYS is deleted for good, files included."""
    count = library.trash_purge(older_than=library.trash_retention())
    if count:
        log.info("purged %d generations from the trash", count)
