"""Huey with process workers that each run several worker threads.

Provider calls wait for seconds, so a consumer needs many threads to keep
many calls in flight; but what a worker does around a call (download, decode,
thumbnail, upload, ledger) is Python that holds the interpreter lock, so one
process full of threads uses about one core however many the machine has
(docs/benchmarks.md, 2). With `HUEY_WORKER_PROCESSES` > 1 a thread
consumer's workers (`HUEY_WORKERS`, `run_huey -w`: the calls in flight) are
spread over that many forked processes, each running its share as threads,
so every core copies images. Everything else is Huey's own process worker
type: the scheduler, the health check (a worker process that dies is started
again), and the signals (SIGINT lets running tasks finish, SIGTERM stops at once).
A queue that cannot be read is logged once, then summed up (outage_log.py).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time

from django.conf import settings
from django.db import connections
from huey import RedisHuey as BaseRedisHuey
from huey import SqliteHuey as BaseSqliteHuey
from huey.consumer import Consumer as BaseConsumer
from huey.consumer import ProcessEnvironment, Worker

from generations.runtime import outage_log


def consumer_options(options: dict) -> dict:
    """Huey's options, with a thread consumer's workers spread over
    HUEY_WORKER_PROCESSES processes (`threads_per_process` added); other
    worker types, and a single process, are left as they are."""
    total, processes = options.get("workers", 1), settings.HUEY_WORKER_PROCESSES
    if options.get("worker_type", "thread") != "thread" or processes < 2 or total < 2:
        return options
    processes = min(processes, total)
    return {
        **options,
        "worker_type": "process",
        "workers": processes,
        "threads_per_process": math.ceil(total / processes),
    }


class Consumer(BaseConsumer):
    def __init__(self, huey, *, threads_per_process: int = 1, **options):
        self.threads_per_process = threads_per_process  # read while the base class sets up
        super().__init__(huey, **options)
        outage_log.install()

    def get_environment(self, worker_type):
        if worker_type == "process":
            return _Processes(self._graceful_sig, self._interrupt_sig)
        return super().get_environment(worker_type)

    def start(self):
        if self.threads_per_process > 1:
            self._logger.info("Each worker process runs %s worker threads.", self.threads_per_process)
        super().start()

    def _create_process(self, process, name):
        if not (isinstance(process, Worker) and self.threads_per_process > 1):
            return super()._create_process(process, name)

        def _run():
            self.environment.init_child(process)
            _share_pool(self.workers)
            workers = [process] + [self._create_worker() for _ in range(self.threads_per_process - 1)]
            threads = [
                threading.Thread(
                    target=self._run_thread, args=(worker, f"{name}.{i}"), name=f"{name}.{i}", daemon=True
                )
                for i, worker in enumerate(workers, 1)
            ]
            for thread in threads:
                thread.start()
            try:
                for thread in threads:
                    thread.join()
            except KeyboardInterrupt:  # SIGTERM mid-task: the process ends, its threads with it
                pass

        return self.environment.create_process(_run, name)

    def _run_thread(self, worker, name: str) -> None:
        """Huey's worker loop in one thread. A task's own errors are handled
        inside `loop()`; anything else is logged and the thread goes on, as a
        dead thread would not be noticed by the health check (it checks
        processes) and would quietly shrink the consumer."""
        try:
            worker.initialize()
            while not self.stop_flag.is_set():
                try:
                    worker.loop()
                except Exception:
                    self._logger.exception("Worker thread %s: error outside a task", name)
                    time.sleep(1)
        finally:
            worker.shutdown()


def _share_pool(processes: int) -> None:
    """Each worker process's PostgreSQL pool gets its share of
    DATABASE_POOL_MAX_SIZE, so a consumer opens no more connections than with
    one process (README, sizing). Set in the forked process before it connects."""
    pool = connections["default"].settings_dict.get("OPTIONS", {}).get("pool")
    if isinstance(pool, dict):
        pool["max_size"] = max(2, math.ceil(settings.DATABASE_POOL_MAX_SIZE / processes))


class _Processes(ProcessEnvironment):
    """Huey's process environment, whose processes end with the consumer:
    one outliving a consumer killed outright would go on taking tasks (or, the
    scheduler, enqueueing periodic ones) with nobody supervising it."""

    def create_process(self, runnable, name):
        def run():
            threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
            runnable()

        return super().create_process(run, name)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


_worker_log = logging.getLogger("huey.consumer.Worker")
_scheduler_log = logging.getLogger("huey.consumer.Scheduler")


class _OutageEnds:
    """Tells outage_log when reading the queue or the schedule works again."""

    def dequeue(self):
        task = super().dequeue()
        outage_log.outage_filter.recovered("Error reading from queue", _worker_log)
        return task

    def read_schedule(self, timestamp=None):
        tasks = super().read_schedule(timestamp)
        outage_log.outage_filter.recovered("Error reading schedule.", _scheduler_log)
        return tasks


class RedisHuey(_OutageEnds, BaseRedisHuey):
    def create_consumer(self, **options):
        return Consumer(self, **consumer_options(options))


class SqliteHuey(_OutageEnds, BaseSqliteHuey):
    def create_consumer(self, **options):
        return Consumer(self, **consumer_options(options))
