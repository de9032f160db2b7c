"""The only code that changes `Generation.status`, and the cancel rule.

Every move is checked against one table of allowed transitions, then made by
a conditional UPDATE (`WHERE status IN (...)`), so two workers, a worker and
the reaper, or a worker and a cancel never both win a row, and a move the
lifecycle does not know fails loudly instead of leaving a row in a state
nothing handles.

    queued -> running -> storing -> succeeded
      |         |  |          `--> failed    (not stored before its source expired)
      |         |  `--> succeeded            (bytes in hand: stored, then done at once)
      |         |--> queued                  (retried later, or reaped and run again)
      |         `--> failed | canceled
      `--> canceled | failed                 (canceled by its owner; lost past its time)

A create inserts a row `queued`, or `running` when its caller runs it at once
(INITIAL). The PostgreSQL one-statement success in the ledger writes the
fields `succeed_fields` gives it, so it too makes only a checked move.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from generations.billing import ledger
from generations.models import Generation

log = logging.getLogger(__name__)
Status = Generation.Status

ALLOWED: dict[str, frozenset[str]] = {
    Status.QUEUED: frozenset({Status.RUNNING, Status.CANCELED, Status.FAILED}),
    Status.RUNNING: frozenset(
        {Status.STORING, Status.SUCCEEDED, Status.QUEUED, Status.FAILED, Status.CANCELED}
    ),
    Status.STORING: frozenset({Status.SUCCEEDED, Status.FAILED}),
}
INITIAL = frozenset({Status.QUEUED, Status.RUNNING})


class TransitionRefused(Exception):
    pass


def check(sources: Iterable[str], target: str) -> None:
    """Raise TransitionRefused unless `target` may follow each of `sources`."""
    refused = [s for s in sources if target not in ALLOWED.get(s, ())]
    if refused:
        raise TransitionRefused(f"{', '.join(refused)} -> {target} is not a generation transition")


def stamps(target: str) -> dict:
    """The time fields a move to `target` writes beside the status."""
    now = timezone.now()
    if target == Status.RUNNING:
        return {"updated_at": now, "started_at": now}
    if target in Generation.FINISHED:
        return {"updated_at": now, "finished_at": now}
    return {"updated_at": now}


def move(pk, *, sources: str | Iterable[str], target: str, where: dict | None = None, **fields) -> bool:
    """Move the row from one of `sources` to `target`, writing `fields` too.
    False when it is in none of them (another worker, the reaper or a cancel
    got there first). `where`: further conditions the row must meet."""
    sources = (sources,) if isinstance(sources, str) else tuple(sources)
    check(sources, target)
    rows = Generation.objects.filter(pk=pk, status__in=sources, **(where or {}))
    return bool(rows.update(status=target, **{**stamps(target), **fields}))


def succeed_fields(source: str) -> dict:
    """The status and time fields of a success from `source`, checked, for a
    statement that writes them itself (ledger_pg)."""
    check((source,), Status.SUCCEEDED)
    return {"status": Status.SUCCEEDED, **stamps(Status.SUCCEEDED)}


def generation_succeed(generation: Generation, *, source: str, fields: dict, then=None) -> bool:
    """Move `source` -> succeeded writing `fields`, unless its owner asked to
    cancel, and capture its hold, all in one transaction (on PostgreSQL, for a
    caller with nothing more to do there, one statement). `then`: more to do
    in that transaction. False: nothing written (reaped, or being canceled).
    On success `generation` holds what was written, for a caller that answers
    from it unread. A caller still waiting for it in this process
    (`answer_until`) is answered by this write (`answered_at`), bytes in hand
    or copied from a URL alike."""
    ended = {**fields, **succeed_fields(source)}
    if generation.answer_until is not None and time.monotonic() < generation.answer_until:
        ended["answered_at"] = ended["finished_at"]
    if then is None:
        done = ledger.generation_succeed_captured(generation=generation, fields=ended, source=source)
        if done is not None:
            return done and _set(generation, ended)
    with transaction.atomic():
        if not move(
            generation.pk,
            sources=source,
            target=Status.SUCCEEDED,
            where={"cancel_requested": False},
            **{name: value for name, value in ended.items() if name != "status"},
        ):
            return False
        if then is not None:
            then()
        # Just moved out of flight under its row lock: captured once, without
        # the idempotency reads (a generation made in this process brings its hold).
        ledger.capture(
            generation=generation, hold=getattr(generation, "hold_entry", None) or ledger.hold_of(generation)
        )
    return _set(generation, ended)


def _set(generation: Generation, fields: dict) -> bool:
    """The row as written, for a caller that answers from it unread."""
    for name, value in fields.items():
        setattr(generation, name, value)
    return True


def generation_fail(
    *,
    generation: Generation,
    code: str,
    message: str,
    request_id: str = "",
    sources: Iterable[str] = Generation.IN_FLIGHT,
) -> None:
    """End a generation failed and give its credits back (once), if it is in
    one of `sources` (any in-flight state unless the caller knows better)."""
    with transaction.atomic():
        if move(
            generation.pk,
            sources=sources,
            target=Status.FAILED,
            error_code=code[:80],
            error_message=message,
            request_id=request_id or generation.request_id,
        ):
            ledger.release(generation=generation)
            generation_finished(generation=generation)
    log.info("generation %s failed: %s", generation.pk, code)


def generation_cancel(*, generation: Generation) -> str:
    """The owner's cancel: a queued generation ends canceled at once (credits
    released); a running one is marked, and its result discarded and refunded
    when the provider answers (`cancel_if_requested`). Storing or later is too
    late: the image exists and was paid for upstream. Returns "canceled",
    "cancel_requested" or ""."""
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation.pk)
        if locked.status == Status.QUEUED:
            generation_cancel_locked(locked)
            return "canceled"
        if locked.status == Status.RUNNING:
            Generation.objects.filter(pk=locked.pk).update(cancel_requested=True)
            return "cancel_requested"
    return ""


def cancel_if_requested(locked: Generation) -> bool:
    """For a running row locked in a transaction that a worker is about to go
    on with (record a result, retry, be reaped): if its owner asked to cancel,
    end it canceled and refunded now. True when it did."""
    if not locked.cancel_requested:
        return False
    generation_cancel_locked(locked)
    return True


def generation_cancel_locked(generation: Generation) -> None:
    """Inside a transaction, with the row locked."""
    move(generation.pk, sources=(Status.QUEUED, Status.RUNNING), target=Status.CANCELED)
    ledger.release(generation=generation)
    generation_finished(generation=generation)


def generation_finished(*, generation: Generation) -> None:
    """A generation has just reached its end (once): tell its webhook, after commit."""
    if generation.webhook_url:
        from generations.webhooks.deliveries import webhook_schedule

        transaction.on_commit(lambda: webhook_schedule(generation_id=generation.pk))
