"""The site's Prometheus metrics (part B of issue 21 fills these in). Every
function is a no-op while metrics are off; callers never check."""


def call_observed(provider: str, seconds: float, code: str) -> None:
    """One provider call ended: `code` is "ok" or the error code."""


def fallback_taken(route: str, from_provider: str, to_provider: str, reason: str) -> None:
    """A routed generation moved from one provider to the next."""


def circuit_changed(provider: str, state: str) -> None:
    """A provider's circuit is now "closed", "open" or "half_open"."""


def store_retried(provider: str) -> None:
    """A copy into storage is tried again."""
