"""A circuit breaker per provider, shared by every process: through Redis
(Django's cache) when REDIS_URL is set, else a `ProviderCircuit` row changed
with conditional UPDATEs.

closed: calls go through; CIRCUIT_FAILURES retryable failures in a row open it.
open: no calls for CIRCUIT_COOLDOWN seconds (routed generations fall back).
half_open: the cool-down is over; exactly one process wins the probe
(`allow`), whose success closes the circuit and whose failure opens it again.
A probe that never reports (its worker died) is given to another process
after CIRCUIT_PROBE_TIMEOUT seconds. Permanent errors (moderation, invalid
parameters) say nothing about the provider's health and are not counted."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from generations.models import ProviderCircuit
from generations.runtime import metrics

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


def _redis() -> bool:
    return bool(settings.REDIS_URL)


def states(providers: list[str]) -> dict[str, str]:
    """Each provider's state, read in one query (or one Redis round trip):
    closed, open (cooling down) or half_open (cool-down over: a probe may go
    or is out)."""
    if _redis():
        keys = {provider: f"circuit:{provider}:open_until" for provider in providers}
        found, clock = cache.get_many(list(keys.values())), time.time()
        return {provider: _redis_state(found.get(key), clock) for provider, key in keys.items()}
    rows = {row.provider: row for row in ProviderCircuit.objects.filter(provider__in=providers)}
    now = timezone.now()
    return {provider: _db_state(rows.get(provider), now) for provider in providers}


def state(provider: str) -> str:
    """`provider`'s state (states)."""
    return states([provider])[provider]


def usable(providers: list[str]) -> list[str]:
    """Those of `providers` a generation should be sent to, in order (a hint
    for picking: closed, or the cool-down over so that a probe may go)."""
    found = states(providers)
    return [provider for provider in providers if found[provider] != OPEN]


def _redis_state(open_until: float | None, now: float) -> str:
    if open_until is None:
        return CLOSED
    return OPEN if now < open_until else HALF_OPEN


def _db_state(row: ProviderCircuit | None, now: datetime) -> str:
    if row is None or row.state == CLOSED:
        return CLOSED
    if row.state == OPEN and row.opened_at and now < row.opened_at + _cooldown():
        return OPEN
    return HALF_OPEN


def allow(provider: str) -> bool:
    """Whether this call may go to `provider` now: always when closed; never
    while open; once the cool-down ends, to exactly one caller (the probe)."""
    current = state(provider)
    if current == CLOSED:
        return True
    if current == OPEN:
        return False
    won = _redis_take_probe(provider) if _redis() else _db_take_probe(provider)
    if won:
        metrics.circuit_changed(provider, HALF_OPEN)
    return won


def record(provider: str, *, ok: bool) -> None:
    """A call to `provider` succeeded (`ok`) or failed with a retryable error."""
    if _redis():
        changed = _redis_record(provider, ok)
    else:
        changed = _db_record(provider, ok)
    if changed:
        metrics.circuit_changed(provider, changed)


def reset(provider: str) -> None:
    """Close `provider`'s circuit and forget its failures (an operator who
    fixed the provider, or a test starting afresh)."""
    if _redis():
        cache.delete_many([f"circuit:{provider}:{part}" for part in ("open_until", "probe", "failures")])
    else:
        ProviderCircuit.objects.filter(provider=provider).delete()


def _cooldown() -> timedelta:
    return timedelta(seconds=settings.CIRCUIT_COOLDOWN)


def _row(provider: str) -> None:
    if not ProviderCircuit.objects.filter(provider=provider).exists():
        try:
            ProviderCircuit.objects.create(provider=provider)
        except IntegrityError:  # another process made it first
            pass


def _db_take_probe(provider: str) -> bool:
    now = timezone.now()
    rows = ProviderCircuit.objects.filter(provider=provider)
    # Exactly one UPDATE wins: open past its cool-down, or a probe gone silent.
    opened = rows.filter(state=OPEN, opened_at__lte=now - _cooldown())
    if opened.update(state=HALF_OPEN, probe_at=now):
        return True
    stale = now - timedelta(seconds=settings.CIRCUIT_PROBE_TIMEOUT)
    return bool(rows.filter(state=HALF_OPEN, probe_at__lt=stale).update(probe_at=now))


def _db_record(provider: str, ok: bool) -> str | None:
    """The new state when this report changed it (a closed circuit that
    forgot its failures reports closed again), else None."""
    rows = ProviderCircuit.objects.filter(provider=provider)
    now = timezone.now()
    if ok:
        # One UPDATE: a closed circuit forgets its failures; a half-open one
        # closes on its probe's success. An open one stays open: calls made
        # before it opened prove little.
        resets = rows.filter(Q(state=CLOSED, failures__gt=0) | Q(state=HALF_OPEN))
        return CLOSED if resets.update(state=CLOSED, failures=0, opened_at=None, probe_at=None) else None
    _row(provider)
    rows.update(failures=F("failures") + 1)
    if rows.filter(state=HALF_OPEN).update(state=OPEN, opened_at=now, probe_at=None):
        return OPEN
    if rows.filter(state=CLOSED, failures__gte=settings.CIRCUIT_FAILURES).update(state=OPEN, opened_at=now):
        return OPEN
    return None


def _redis_take_probe(provider: str) -> bool:
    return bool(cache.add(f"circuit:{provider}:probe", 1, timeout=settings.CIRCUIT_PROBE_TIMEOUT))


def _redis_record(provider: str, ok: bool) -> str | None:
    key = f"circuit:{provider}"
    current = state(provider)
    if ok:
        cache.delete(f"{key}:failures")
        if current == HALF_OPEN and cache.get(f"{key}:probe"):
            cache.delete_many([f"{key}:open_until", f"{key}:probe"])
            return CLOSED
        return None
    cache.add(f"{key}:failures", 0, timeout=None)
    try:
        failures = cache.incr(f"{key}:failures")
    except ValueError:  # expired or evicted between the add and the incr
        failures = 1
    open_until = time.time() + settings.CIRCUIT_COOLDOWN
    if current == HALF_OPEN:
        cache.set(f"{key}:open_until", open_until, timeout=None)
        cache.delete(f"{key}:probe")
        return OPEN
    # add: of several processes seeing the N-th failure at once, one opens it.
    if current == CLOSED and failures >= settings.CIRCUIT_FAILURES:
        if cache.add(f"{key}:open_until", open_until, timeout=None):
            return OPEN
    return None
