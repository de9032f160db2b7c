"""What a scrape of `/metrics` answers: every process's counters, summed by
prometheus_client's MultiProcessCollector from PROMETHEUS_MULTIPROC_DIR,
plus gauges read from the database at scrape time with one grouped query
(generations by status and provider, the credits they hold and captured)
and one sum (credits held on accounts). Computing those at scrape keeps them
right whichever process changed a row, and after a restart.

Who may scrape: METRICS_TOKEN (an `Authorization: Bearer` header) or
METRICS_ALLOW (client addresses as CIDRs), either one enough. With neither
set metrics are off and the path answers 404, as an unknown page does.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.db.models import Count, Sum
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Every name the site exports, for the docs' dashboard and alert rules
# (tests check them against this list). Counters end in _total on the wire,
# histograms add _bucket, _sum and _count.
EXPORTED = (
    "zimage_provider_calls_total",
    "zimage_provider_call_seconds_bucket",
    "zimage_provider_call_seconds_sum",
    "zimage_provider_call_seconds_count",
    "zimage_fallbacks_total",
    "zimage_circuit_state",
    "zimage_store_retries_total",
    "zimage_ledger_problems",
    "zimage_generations",
    "zimage_generations_queued",
    "zimage_generations_running",
    "zimage_generation_credits",
    "zimage_credits_held",
)


class DatabaseCollector:
    """Gauges read from the database when scraped."""

    def collect(self):
        from generations.models import CreditAccount, Generation

        by_status = GaugeMetricFamily(
            "zimage_generations", "Generations by status and provider.", labels=["status", "provider"]
        )
        credits = GaugeMetricFamily(
            "zimage_generation_credits",
            "Credits of the generations by status and provider: held in flight, captured once succeeded.",
            labels=["status", "provider"],
        )
        totals: dict[str, int] = {}
        rows = Generation.objects.values("status", "provider").annotate(n=Count("id"), c=Sum("credits_cost"))
        for row in rows.order_by():
            by_status.add_metric([row["status"], row["provider"]], row["n"])
            credits.add_metric([row["status"], row["provider"]], row["c"] or 0)
            totals[row["status"]] = totals.get(row["status"], 0) + row["n"]
        yield by_status
        yield credits
        yield GaugeMetricFamily(
            "zimage_generations_queued", "Generations waiting for a worker.", value=totals.get("queued", 0)
        )
        yield GaugeMetricFamily(
            "zimage_generations_running", "Generations at their provider.", value=totals.get("running", 0)
        )
        held = CreditAccount.objects.aggregate(s=Sum("held"))["s"] or 0
        yield GaugeMetricFamily("zimage_credits_held", "Credits held on all accounts.", value=held)


def metrics_text() -> tuple[bytes, str]:
    """The scrape's body and content type."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
    registry.register(DatabaseCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


def scrape_allowed(*, authorization: str, address: str) -> bool:
    """A scraper with the bearer token, or from an allowed address."""
    token = settings.METRICS_TOKEN
    if token and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(cidr, strict=False) for cidr in settings.METRICS_ALLOW)
