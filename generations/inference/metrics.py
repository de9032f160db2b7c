"""Prometheus text exposition for the worker, without a client library: a few
counters and histograms behind one lock are all it needs."""

from __future__ import annotations

import threading
from collections import Counter


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]):
        self.name, self.help_text, self.buckets = name, help_text, buckets
        self.counts = [0] * len(buckets)
        self.total, self.count = 0.0, 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.count += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} histogram"]
        lines += [
            f'{self.name}_bucket{{le="{bound:g}"}} {n}'
            for bound, n in zip(self.buckets, self.counts, strict=True)
        ]
        lines += [
            f'{self.name}_bucket{{le="+Inf"}} {self.count}',
            f"{self.name}_sum {self.total:.6f}",
            f"{self.name}_count {self.count}",
        ]
        return lines


class Metrics:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # by HTTP status
        self.images = 0
        self.batch_size = Histogram(
            "gpu_worker_batch_size", "Images per pipeline call.", (1, 2, 3, 4, 6, 8, 12, 16)
        )
        self.queue_wait = Histogram(
            "gpu_worker_queue_wait_seconds",
            "Time a request waited for its batch.",
            (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.generation = Histogram(
            "gpu_worker_generation_seconds",
            "Seconds per pipeline call (one batch).",
            (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
        )

    def request(self, status: int) -> None:
        with self.lock:
            self.requests[str(status)] += 1

    def batch(self, size: int, seconds: float, waits: list[float]) -> None:
        with self.lock:
            self.images += size
            self.batch_size.observe(size)
            self.generation.observe(seconds)
            for wait in waits:
                self.queue_wait.observe(wait)

    def render(self, queue_depth: int) -> str:
        with self.lock:
            lines = [
                "# HELP gpu_worker_requests_total Image requests answered, by HTTP status.",
                "# TYPE gpu_worker_requests_total counter",
            ]
            lines += [
                f'gpu_worker_requests_total{{code="{code}"}} {n}' for code, n in sorted(self.requests.items())
            ]
            lines += [
                "# HELP gpu_worker_images_total Images generated.",
                "# TYPE gpu_worker_images_total counter",
                f"gpu_worker_images_total {self.images}",
                "# HELP gpu_worker_queue_depth Requests waiting for a batch.",
                "# TYPE gpu_worker_queue_depth gauge",
                f"gpu_worker_queue_depth {queue_depth}",
            ]
            for histogram in (self.batch_size, self.queue_wait, self.generation):
                lines += histogram.render()
        return "\n".join(lines) + "\n"
