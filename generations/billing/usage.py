"""Credits spent per day, shaped for a server-rendered SVG bar chart."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from generations.models import Generation

CHART_W, CHART_H, DAYS = 600, 140, 30


@dataclass(frozen=True)
class Bar:
    day: date
    total: int
    x: float
    y: float
    width: float
    height: float


def daily_usage(*, user, today: date | None = None) -> list[Bar]:
    """One bar per day of the last 30 (today included), zero days drawn flat."""
    today = today or timezone.localdate()
    start = today - timedelta(days=DAYS - 1)
    totals = dict(
        Generation.objects.owned_by(user)
        .filter(status=Generation.Status.SUCCEEDED, finished_at__date__gte=start)
        .annotate(day=TruncDate("finished_at"))
        .values("day")
        .annotate(total=Sum("credits_cost"))
        .values_list("day", "total")
    )
    peak = max(totals.values(), default=0) or 1
    slot = CHART_W / DAYS
    bars = []
    for i in range(DAYS):
        day = start + timedelta(days=i)
        total = totals.get(day, 0)
        height = max(1.0, CHART_H * total / peak) if total else 0.0
        bars.append(
            Bar(
                day=day,
                total=total,
                x=round(i * slot + 1, 1),
                y=round(CHART_H - height, 1),
                width=round(slot - 2, 1),
                height=round(height, 1),
            )
        )
    return bars
