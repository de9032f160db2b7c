"""Huey tasks: thin. Load by id, call a service."""

import logging
import threading

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from . import copying, library, pipeline, quotas, recovery, webhooks

log = logging.getLogger(__name__)


@db_task()
def run_generation(generation_id: str) -> None:
    delay = pipeline.generation_run(generation_id=generation_id)
    if delay is not None:
        run_generation.schedule((generation_id,), delay=delay)


@db_task()
def store_generation(generation_id: str) -> None:
    delay = copying.generation_store(generation_id=generation_id)
    if delay is not None:
        store_generation.schedule((generation_id,), delay=delay)


@db_task()
def poll_generation(generation_id: str) -> None:
    """One look at a submit+poll provider's job; scheduled again, never waited for."""
    delay = pipeline.generation_poll(generation_id=generation_id)
    if delay is not None:
        poll_generation.schedule((generation_id,), delay=delay)


@db_periodic_task(crontab(minute="*"))
def recover_generations() -> None:
    counts = recovery.generations_recover()
    if any(counts.values()):
        log.warning("recovery: %s", counts)


_started = threading.Lock()


@HUEY.on_startup()
def recover_at_start() -> None:
    """A consumer restarted after a crash recovers at once, not at the next minute.
    Runs once per process (the hook fires for every worker)."""
    if _started.acquire(blocking=False):
        log.info("recovery at start: %s", recovery.generations_recover())


@db_periodic_task(crontab(minute="*/10"))
def grant_monthly_allowances() -> None:
    """Often, not once a month: a run missed while no consumer was up is made
    good by the next one, and a second run in a period grants nothing."""
    quotas.allowance_run()


@db_task()
def deliver_webhook(delivery_id: int) -> None:
    delay = webhooks.webhook_attempt(delivery_id=delivery_id)
    if delay is not None:
        deliver_webhook.schedule((delivery_id,), delay=delay)


@db_periodic_task(crontab(hour="3", minute="17"))
def purge_trash() -> None:
    """Trash older than TRASH_DAYS is deleted for good, files included."""
    count = library.trash_purge(older_than=library.trash_retention())
    if count:
        log.info("purged %d generations from the trash", count)
