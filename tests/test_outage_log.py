"""A consumer whose Redis is down logs the outage once, then a bounded
summary, then its end (generations/outage_log.py)."""

import logging
import shutil
import socket
import subprocess
import time

import pytest

from generations.runtime import outage_log
from tests.helpers import wait_for


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def logged(monkeypatch):
    """A logger with the filter on it; returns (logger, records, filter, clock)."""
    clock = Clock()
    monkeypatch.setattr(outage_log.time, "monotonic", clock)
    quiet, records = outage_log.OutageFilter(every=30), []
    logger = logging.getLogger("tests.outage")
    logger.propagate, logger.handlers, logger.filters = False, [], [quiet]
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    return logger, records, quiet, clock


def fail(logger, message="Error reading from queue", error=None):
    try:
        raise error or ConnectionError("refused")
    except Exception:
        logger.exception(message)


def test_the_first_failure_shows_whole_repeats_are_counted_and_summed_up(logged):
    logger, records, quiet, clock = logged
    for _ in range(500):
        fail(logger)
        clock.now += 0.05
    assert len(records) == 1 and records[0].exc_info  # the first, with its traceback
    clock.now += 10  # 35 s after the first
    fail(logger)
    assert len(records) == 2 and not records[1].exc_info
    assert records[1].getMessage() == (
        "Error reading from queue: still failing after 35 s, 499 "
        "like it left out since the last shown: "
        "ConnectionError: refused"
    )
    fail(logger, error=TimeoutError("slow"))  # another kind of error shows at once
    logger.error("Something else")  # and so does any other message
    assert len(records) == 4 and records[2].exc_info

    quiet.recovered("Error reading from queue", logger)  # both kinds of error end
    assert [r.getMessage() for r in records[4:]] == [
        "Error reading from queue: over, it works again after 35 s and 501 failures.",
        "Error reading from queue: over, it works again after 0 s and 1 failures.",
    ]
    fail(logger)  # a new outage shows whole again
    assert len(records) == 7 and records[-1].exc_info


def test_a_message_not_seen_for_two_periods_starts_a_new_outage(logged):
    logger, records, quiet, clock = logged
    fail(logger, "Error enqueueing periodic task %s.")
    clock.now += 61
    fail(logger, "Error enqueueing periodic task %s.")
    assert len(records) == 2 and all(r.exc_info for r in records)
    quiet.recovered("Error reading from queue", logger)  # nothing to say
    assert len(records) == 2


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_a_consumer_without_redis_starts_and_logs_little(consumer):
    worker = consumer(env={"REDIS_URL": "redis://127.0.0.1:1/0", "HUEY_WORKER_PROCESSES": "2"}, workers=16)
    time.sleep(5)
    out = worker.output()
    assert worker.proc.poll() is None  # still up, trying
    assert "Error reading from queue" in out and "Connection refused" in out
    assert len(out.encode()) < 20_000, out[-3000:]


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")
def test_the_end_of_an_outage_is_logged(consumer, tmp_path):
    port = closed_port()
    worker = consumer(env={"REDIS_URL": f"redis://127.0.0.1:{port}/0"}, workers=8)
    wait_for(
        lambda: "Error reading from queue" in worker.output(), timeout=10, what="the outage to be logged"
    )
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: "Error reading from queue: over, it works again" in worker.output(),
            timeout=15,
            what="the recovery line",
        )
    finally:
        redis.terminate()
        redis.wait(timeout=10)
