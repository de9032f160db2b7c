"""Usage reports for staff: aggregate queries only, never a loop over rows.

Credits and provider cost count succeeded (captured) generations only: failed
and canceled ones were refunded, so the report adds up to the ledger."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDay, TruncMonth
from django.utils import timezone

from generations.models import Attempt, Generation

Status = Generation.Status
GROUPS = {"user": "owner__username", "team": "owner__team_membership__team__name", "provider": "provider"}
BUCKETS = {"day": TruncDay, "month": TruncMonth}
COLUMNS = ["period", "group", "generations", "images", "failed", "credits", "provider_cost"]


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # inclusive
    group: str = "user"
    bucket: str = "day"

    def generations(self):
        tz = timezone.get_current_timezone()
        since = datetime.combine(self.start, time.min, tzinfo=tz)
        until = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz)
        return Generation.objects.filter(created_at__gte=since, created_at__lt=until)


def _measures() -> dict:
    succeeded = Q(status=Status.SUCCEEDED)
    return {
        "generations": Count("pk"),
        "images": Count("pk", filter=succeeded),
        "failed": Count("pk", filter=Q(status=Status.FAILED)),
        "credits": Coalesce(Sum("credits_cost", filter=succeeded), 0),
        "provider_cost": Coalesce(
            Sum("provider_price", filter=succeeded), Value(Decimal(0)), output_field=DecimalField()
        ),
    }


def usage_rows(window: Window) -> list[dict]:
    """One row per period and user, team or provider."""
    key = GROUPS[window.group]
    rows = (
        window.generations()
        .annotate(period=BUCKETS[window.bucket]("created_at"))
        .values("period", key)
        .annotate(**_measures())
        .order_by("period", key)
    )
    return [{**row, "group": row.pop(key) or "(none)"} for row in rows]


def usage_totals(window: Window) -> dict:
    return window.generations().aggregate(**_measures())


def top_users(window: Window, *, limit: int = 10) -> list[dict]:
    rows = window.generations().values("owner__username").annotate(**_measures())
    return list(rows.order_by("-credits", "owner__username")[:limit])


def failure_rates(window: Window) -> list[dict]:
    finished = window.generations().filter(status__in=[Status.SUCCEEDED, Status.FAILED])
    rows = (
        finished.values("provider")
        .annotate(finished=Count("pk"), failed=Count("pk", filter=Q(status=Status.FAILED)))
        .order_by("provider")
    )
    return [{**row, "rate": row["failed"] / row["finished"]} for row in rows]


def provider_calls(window: Window) -> list[dict]:
    """Per provider, the calls made for the window's generations (a routed one
    may have called several): how many, how many failed, the images made and
    what the providers really charged (each attempt's cost; failed calls cost
    nothing). This, not the price list quoted at create, is the bill."""
    rows = (
        Attempt.objects.filter(generation__in=window.generations().values("pk"))
        .values("provider")
        .annotate(
            calls=Count("pk"),
            failed=Count("pk", filter=~Q(code="ok")),
            images=Count("pk", filter=Q(code="ok")),
            cost=Coalesce(Sum("cost"), Value(Decimal(0)), output_field=DecimalField()),
        )
    )
    return [dict(row) for row in rows.order_by("provider")]


def error_codes(window: Window, *, limit: int = 10) -> list[dict]:
    failed = window.generations().filter(status=Status.FAILED)
    rows = failed.values("provider", "error_code").annotate(count=Count("pk"))
    return list(rows.order_by("-count", "provider", "error_code")[:limit])


def daily_credits(window: Window) -> list[tuple[date, int]]:
    rows = (
        window.generations()
        .annotate(day=TruncDay("created_at"))
        .values("day")
        .annotate(credits=_measures()["credits"])
        .order_by("day")
    )
    return [
        (row["day"].date() if isinstance(row["day"], datetime) else row["day"], row["credits"])
        for row in rows
    ]
