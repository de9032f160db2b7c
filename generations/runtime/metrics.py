"""The site's own Prometheus metrics: the events other code reports.

Every process of the site (gunicorn workers, Huey consumers and their
forked worker processes, management commands) writes its counters to files
in PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode); a
scrape of `/metrics` sums them (generations/runtime/metrics_export.py), so a
counter stays right however many processes there are. settings.py points
that variable at VAR_DIR/metrics when the environment does not name one;
run_site and gunicorn's master empty it at start.

Each function is a no-op while metrics are off (METRICS_ENABLED, on by
default once METRICS_TOKEN or METRICS_ALLOW says who may scrape), so that a
site nobody scrapes writes no files. The gauges computed from the database
at scrape time (generations by status, credits held) are not here: they
belong to the exporter.
"""

from __future__ import annotations

from django.conf import settings
from prometheus_client import Counter, Gauge, Histogram

# The circuit's states as the number its gauge shows (0 is healthy, so an
# alert is `> 0` and a graph rises when a provider is in trouble).
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}

# Provider calls take from a fraction of a second (the own GPU worker) to
# minutes (a hosted provider under load, up to PROVIDER_TIMEOUT).
_CALL_BUCKETS = (0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 90, 120, 180, float("inf"))

PROVIDER_CALLS = Counter(
    "zimage_provider_calls",
    "Provider calls by outcome: code is ok or the provider's error code.",
    ["provider", "code"],
)
PROVIDER_CALL_SECONDS = Histogram(
    "zimage_provider_call_seconds",
    "Time a provider call took, successful or not.",
    ["provider"],
    buckets=_CALL_BUCKETS,
)
FALLBACKS = Counter(
    "zimage_fallbacks",
    "Generations a route moved from one provider to the next.",
    ["route", "from_provider", "to_provider", "reason"],
)
# mostrecent: the state last reported by any process, which is the state the
# shared breaker is in; it survives the process that reported it.
CIRCUIT_STATE = Gauge(
    "zimage_circuit_state",
    "Each provider's circuit: 0 closed, 1 half-open, 2 open.",
    ["provider"],
    multiprocess_mode="mostrecent",
)
STORE_RETRIES = Counter(
    "zimage_store_retries",
    "Times copying a provider's image into storage failed and was tried again.",
    ["provider"],
)
LEDGER_PROBLEMS = Gauge(
    "zimage_ledger_problems",
    "Problems the last ledger check found (check_ledger, the recovery pass); 0 when exact.",
    multiprocess_mode="mostrecent",
)


def enabled() -> bool:
    """Whether this site collects metrics at all."""
    return bool(getattr(settings, "METRICS_ENABLED", False))


def call_observed(provider: str, seconds: float, code: str) -> None:
    """One provider call finished: `code` is "ok" or the error's code."""
    if not enabled():
        return
    PROVIDER_CALLS.labels(provider=provider, code=code or "unknown").inc()
    PROVIDER_CALL_SECONDS.labels(provider=provider).observe(max(seconds, 0.0))


def fallback_taken(route: str, from_provider: str, to_provider: str, reason: str) -> None:
    """A route gave up on `from_provider` (reason: an error code or "circuit_open")."""
    if not enabled():
        return
    FALLBACKS.labels(route=route, from_provider=from_provider, to_provider=to_provider, reason=reason).inc()


def circuit_changed(provider: str, state: str) -> None:
    """A provider's circuit moved to "closed", "open" or "half_open"."""
    if not enabled():
        return
    if state not in CIRCUIT_STATES:
        raise ValueError(f"unknown circuit state {state!r}")
    CIRCUIT_STATE.labels(provider=provider).set(CIRCUIT_STATES[state])


def store_retried(provider: str) -> None:
    """Copying an image from `provider` failed and will be tried again."""
    if not enabled():
        return
    STORE_RETRIES.labels(provider=provider).inc()


def ledger_checked(problems: int) -> None:
    """The ledger check ran and found `problems` problems (0: exact)."""
    if not enabled():
        return
    LEDGER_PROBLEMS.set(problems)
