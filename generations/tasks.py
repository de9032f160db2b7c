"""Huey tasks: thin. Each imports its service inside its body and calls it;
the services import these tasks (to enqueue them) at module level, so nothing
here is imported back and there is no import cycle (tests/test_architecture.py)."""

import logging
import threading

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

log = logging.getLogger(__name__)


@db_task()
def run_generation(generation_id: str, provider: str | None = None) -> None:
    from generations.lifecycle import pipeline
    from generations.runtime.logcontext import generation_context

    with generation_context(generation_id):
        delay = pipeline.generation_run(generation_id=generation_id, provider=provider)
    if delay is not None:
        run_generation.schedule((generation_id, provider), delay=delay)


@db_task()
def serve_provider(provider: str) -> None:
    """A wake-up for a provider with a call limit: run its queue in fair order
    while a slot is free (the rows, not the messages, are the pending work)."""
    from generations.lifecycle import pipeline

    pipeline.provider_serve(provider)


@db_task()
def store_generation(generation_id: str) -> None:
    from generations.lifecycle import store
    from generations.runtime.logcontext import generation_context

    with generation_context(generation_id):
        delay = store.generation_store(generation_id=generation_id)
    if delay is not None:
        store_generation.schedule((generation_id,), delay=delay)


@db_task()
def poll_generation(generation_id: str) -> None:
    """One look at a submit+poll provider's job; scheduled again, never waited for."""
    from generations.lifecycle import pipeline
    from generations.runtime.logcontext import generation_context

    with generation_context(generation_id):
        delay = pipeline.generation_poll(generation_id=generation_id)
    if delay is not None:
        poll_generation.schedule((generation_id,), delay=delay)


@db_periodic_task(crontab(minute="*"))
def recover_generations() -> None:
    from generations.lifecycle import recovery

    counts = recovery.generations_recover()
    if any(counts.values()):
        log.warning("recovery: %s", counts)


_started = threading.Lock()


@HUEY.on_startup()
def recover_at_start() -> None:
    """A consumer restarted after a crash recovers at once, not at the next minute.
    Runs once per process (the hook fires for every worker)."""
    from generations.lifecycle import recovery

    if _started.acquire(blocking=False):
        log.info("recovery at start: %s", recovery.generations_recover())


@db_periodic_task(crontab(minute="*/10"))
def grant_monthly_allowances() -> None:
    """Often, not once a month: a run missed while no consumer was up is made
    good by the next one, and a second run in a period grants nothing."""
    from generations.billing import quotas

    quotas.allowance_run()


@db_task()
def deliver_webhook(delivery_id: int) -> None:
    from generations.webhooks import deliveries

    delay = deliveries.webhook_attempt(delivery_id=delivery_id)
    if delay is not None:
        deliver_webhook.schedule((delivery_id,), delay=delay)


@db_periodic_task(crontab(hour="3", minute="17"))
def purge_trash() -> None:
    """Trash older than TRASH_DAYS is deleted for good, files included."""
    from generations.lifecycle import library

    count = library.trash_purge(older_than=library.trash_retention())
    if count:
        log.info("purged %d generations from the trash", count)


def waiting_args(name: str) -> set[str]:
    """The first argument of every `name` task waiting in the queue or its
    schedule: what recovery leaves alone (its message is not lost)."""
    waiting = [*HUEY.pending(), *HUEY.scheduled()]
    return {str(task.args[0]) for task in waiting if task.name == name and task.args}
