"""Dynamic batching: one thread owns the pipeline and runs queued jobs of the
same size and step count as one pipeline call.

The first job in the queue waits at most `max_wait` seconds for company; jobs
that queued while the GPU was busy go together at once. Each job keeps its
own prompt and its own torch.Generator, so a seed gives the same image whether
its job ran alone or in a batch (same device, up to kernel rounding).
"""

from __future__ import annotations

import logging
import math
import threading
import time

import torch

from generations.inference.metrics import Metrics
from generations.inference.schema import ApiError, Job

log = logging.getLogger(__name__)


class Engine:
    def __init__(
        self,
        pipe,
        device: str,
        metrics: Metrics,
        *,
        max_batch: int = 4,
        max_wait: float = 0.01,
        queue_limit: int = 32,
    ):
        self.pipe, self.device, self.metrics = pipe, device, metrics
        self.max_batch, self.max_wait, self.queue_limit = max_batch, max_wait, queue_limit
        self.pending: list[Job] = []
        self.cond = threading.Condition()
        self.last_batch_seconds = 1.0
        self.thread = threading.Thread(target=self._loop, name="gpu-batcher", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def queue_depth(self) -> int:
        with self.cond:
            return len(self.pending)

    def submit(self, jobs: list[Job]) -> None:
        """Queue the jobs, or refuse them all with 503 when the queue is full."""
        with self.cond:
            if len(self.pending) + len(jobs) > self.queue_limit:
                # Roughly when the queue ahead will have drained.
                batches = len(self.pending) // self.max_batch + 1
                retry = max(1, math.ceil(batches * self.last_batch_seconds))
                raise ApiError(
                    503,
                    f"The worker's queue is full ({self.queue_limit} waiting); try again shortly.",
                    "queue_full",
                    kind="server_error",
                    headers={"Retry-After": str(retry)},
                )
            self.pending.extend(jobs)
            self.cond.notify()

    def generate(self, batch: list[Job]) -> list:
        first = batch[0]
        generators = [torch.Generator(device=self.device).manual_seed(job.seed) for job in batch]
        return self.pipe(
            prompt=[job.prompt for job in batch],
            width=first.width,
            height=first.height,
            num_inference_steps=first.steps,
            guidance_scale=0.0,
            generator=generators,
        ).images

    def _next_batch(self) -> list[Job]:
        with self.cond:
            while not self.pending:
                self.cond.wait()
            first = self.pending[0]
            deadline = first.enqueued + self.max_wait
            while len(self._like(first)) < self.max_batch and (left := deadline - time.monotonic()) > 0:
                self.cond.wait(left)
            batch = self._like(first)[: self.max_batch]
            self.pending = [job for job in self.pending if job not in batch]
            return batch

    def _like(self, first: Job) -> list[Job]:
        return [job for job in self.pending if job.key == first.key]

    def _loop(self) -> None:
        while True:
            self._run(self._next_batch())

    def _run(self, batch: list[Job]) -> None:
        started = time.monotonic()
        try:
            images = self.generate(batch)
        except Exception as exc:  # a failed batch (e.g. out of memory) must not stop the worker
            log.exception("pipeline call failed for a batch of %d", len(batch))
            for job in batch:
                job.error = f"Generation failed: {type(exc).__name__}: {exc}"
        else:
            self.last_batch_seconds = time.monotonic() - started
            self.metrics.batch(len(batch), self.last_batch_seconds, [started - job.enqueued for job in batch])
            for job, image in zip(batch, images, strict=True):
                job.image = image
        for job in batch:
            job.done.set()
