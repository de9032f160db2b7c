"""How each provider is doing: its circuit's state and, from the attempt
records of the last HEALTH_WINDOW, error rate and call latency p50/p95. One
word for a client: `down` (circuit open), `degraded` (probing, or at least
HEALTH_DEGRADED_RATE of recent calls failed) or `ok`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from generations.lifecycle import circuit
from generations.models import Attempt

HEALTH_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Health:
    status: str  # ok | degraded | down
    circuit: str  # closed | open | half_open
    calls: int
    errors: int
    error_rate: float
    latency_p50: float | None
    latency_p95: float | None


def _percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of sorted `values` (None when empty)."""
    if not values:
        return None
    return round(values[min(len(values) - 1, max(0, round(share * len(values) + 0.5) - 1))], 3)


def providers_health(names: list[str]) -> dict[str, Health]:
    """Health of every provider in `names`, from one query over the window."""
    since = timezone.now() - HEALTH_WINDOW
    calls: dict[str, list[tuple[str, float]]] = {name: [] for name in names}
    for provider, code, seconds in Attempt.objects.filter(at__gte=since, provider__in=names).values_list(
        "provider", "code", "seconds"
    ):
        calls[provider].append((code, seconds))
    states = circuit.states(names)
    return {name: _health(states[name], rows) for name, rows in calls.items()}


def _health(state: str, rows: list[tuple[str, float]]) -> Health:
    errors = sum(code != "ok" for code, _seconds in rows)
    rate = errors / len(rows) if rows else 0.0
    latencies = sorted(seconds for _code, seconds in rows)
    if state == circuit.OPEN:
        word = "down"
    elif state == circuit.HALF_OPEN or (errors and rate >= settings.HEALTH_DEGRADED_RATE):
        word = "degraded"
    else:
        word = "ok"
    return Health(
        status=word,
        circuit=state,
        calls=len(rows),
        errors=errors,
        error_rate=round(rate, 3),
        latency_p50=_percentile(latencies, 0.5),
        latency_p95=_percentile(latencies, 0.95),
    )
