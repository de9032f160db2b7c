"""Admin settings read by every create, kept in memory for a moment.

Provider configs and price rules change a few times a month, but each create
read both (two ORM queries, a large share of a create's own time).
Each process keeps what it read for CONFIG_CACHE_SECONDS (2 by default): an
admin's change reaches this process at once (the save signal clears it) and
every other web process within that many seconds. 0 turns the cache off.
A generation keeps the price it was created with, so a create priced a moment
before a change is billed what it was quoted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

T = TypeVar("T")
_entries: dict[str, tuple[float, object]] = {}
_lock = threading.Lock()


def config_cached(key: str, load: Callable[[], T]) -> T:
    """`load()`'s value, read again at most every CONFIG_CACHE_SECONDS."""
    ttl = settings.CONFIG_CACHE_SECONDS
    now = time.monotonic()
    hit = _entries.get(key)
    if ttl and hit is not None and hit[0] > now:
        return hit[1]  # type: ignore[return-value]
    value = load()
    if ttl:
        with _lock:
            _entries[key] = (now + ttl, value)
    return value


def config_cache_clear() -> None:
    with _lock:
        _entries.clear()


def config_changed(**_signal_kwargs) -> None:
    """A ProviderConfig or PriceRule was saved or deleted: forget now, and again
    at commit (another thread may have read the old rows meanwhile)."""
    from django.db import transaction

    config_cache_clear()
    transaction.on_commit(config_cache_clear)
