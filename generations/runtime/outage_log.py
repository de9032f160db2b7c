"""A consumer whose queue is down says so once, not once per thread per second.

Huey's worker loop logs `Error reading from queue` with a traceback each time
a read fails and tries again within a second, in every worker thread; the
scheduler does the same each second. With Redis unreachable a consumer of
many threads writes megabytes a minute and buries every other line.
`OutageFilter`, on the consumer's loggers, lets the first of these records
through whole, then at most one line per `every` seconds and kind of error
saying how many it left out, and `recovered()` logs one line when the
operation works again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

# What huey's consumer loops (huey.consumer Worker and Scheduler) and our
# worker threads (generations.runtime.consumer) log on each failed try.
REPEATING = frozenset(
    {
        "Error reading from queue",
        "Error reading schedule.",
        "Error enqueueing %s.",
        "Error enqueueing periodic task %s.",
        "Worker thread %s: error outside a task",
    }
)
LOGGERS = ("huey.consumer", "huey.consumer.Worker", "huey.consumer.Scheduler")
EVERY = 30.0


@dataclass
class _Outage:
    since: float
    shown: float
    last: float
    left_out: int = 0
    total: int = 1


class OutageFilter(logging.Filter):
    """Repeats of a REPEATING message with the same kind of error are left out
    but counted; one summary line per `every` seconds says how many. A kind
    not seen for two periods has ended, so its next record shows in full."""

    def __init__(self, every: float = EVERY):
        super().__init__()
        self.every = every
        self._lock = threading.Lock()
        self._outages: dict[tuple[str, str], _Outage] = {}
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at the fork

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg not in REPEATING:
            return True
        error = record.exc_info[1] if record.exc_info else None
        key, now = (record.msg, type(error).__name__), time.monotonic()
        with self._lock:
            outage = self._outages.get(key)
            if outage is None or now - outage.last > 2 * self.every:
                self._outages[key] = _Outage(since=now, shown=now, last=now)
                note = f" (repeats are summed up at most every {self.every:g} s)"
                return _reword(record, note, keep_traceback=True)
            outage.last, outage.total = now, outage.total + 1
            if now - outage.shown < self.every:
                outage.left_out += 1
                return False
            left_out, outage.left_out, outage.shown = outage.left_out, 0, now
        note = (
            f": still failing after {now - outage.since:.0f} s, {left_out} like it left out"
            f" since the last shown: {type(error).__name__}: {error}"
        )
        return _reword(record, note, keep_traceback=False)

    def recovered(self, message: str, logger: logging.Logger) -> None:
        """`message`'s operation has just worked: log its outage's end, if any."""
        if not self._outages:  # nearly always: no lock taken
            return
        now = time.monotonic()
        with self._lock:
            ended = [self._outages.pop(key) for key in list(self._outages) if key[0] == message]
        for outage in ended:
            logger.warning(
                "%s: over, it works again after %.0f s and %d failures.",
                message.rstrip("."),
                now - outage.since,
                outage.total,
            )


def _reword(record: logging.LogRecord, note: str, *, keep_traceback: bool) -> bool:
    record.msg, record.args = record.getMessage() + note, None
    if not keep_traceback:
        record.exc_info = record.exc_text = None
    return True


outage_filter = OutageFilter()


def install() -> None:
    """Put the filter on the consumer's loggers (once; a forked worker process
    inherits them)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if outage_filter not in logger.filters:
            logger.addFilter(outage_filter)
