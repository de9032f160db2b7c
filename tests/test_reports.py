"""The usage report and its CSV add up to the ledger."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from generations.billing import ledger, reports
from generations.lifecycle import services
from generations.models import CreditEntry, Generation, PriceRule, Team, TeamMembership
from tests.conftest import make_user


def finish(gen, status, code=""):
    Generation.objects.filter(pk=gen.pk).update(status=status, error_code=code, finished_at=timezone.now())
    (ledger.capture if status == "succeeded" else ledger.release)(generation=gen)


@pytest.fixture
def usage(owner, other, monkeypatch):
    """alice (in team studio): 3 demo images, 1 dashscope failure; bob: 2 dashscope
    images (one 2 MP), 1 dashscope failure, 1 in flight."""
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test")
    PriceRule.objects.create(
        provider="dashscope", max_megapixels=Decimal("1.05"), credits=3, provider_cost=Decimal("0.04")
    )
    PriceRule.objects.create(
        provider="dashscope", max_megapixels=Decimal("4.2"), credits=5, provider_cost=Decimal("0.08")
    )
    TeamMembership.objects.create(team=Team.objects.create(name="studio"), user=owner)

    def make(user, provider, status, code="", size=1024):
        gen = services.generation_create(user=user, prompt="p", width=size, height=size, provider=provider)
        if status:
            finish(gen, status, code)

    for _ in range(3):
        make(owner, "demo", "succeeded")
    make(owner, "dashscope", "failed", "DataInspectionFailed")
    make(other, "dashscope", "succeeded")
    make(other, "dashscope", "succeeded", size=1440)
    make(other, "dashscope", "failed", "DataInspectionFailed")
    make(other, "dashscope", None)


def this_month(**kw):
    today = timezone.localdate()
    return reports.Window(start=today.replace(day=1), end=today, **kw)


def captured_in_ledger() -> int:
    holds = CreditEntry.objects.filter(kind="hold", generation__credit_entries__kind="capture")
    return -holds.aggregate(s=Sum("amount"))["s"]


def test_the_totals_add_up_to_the_ledger(usage):
    totals = reports.usage_totals(this_month())
    assert totals["credits"] == captured_in_ledger() == 3 * 2 + 3 + 5
    assert (totals["generations"], totals["images"], totals["failed"]) == (8, 5, 2)
    assert totals["provider_cost"] == Decimal("0.12")
    assert ledger.ledger_problems() == []


@pytest.mark.parametrize(
    "group, expected",
    [
        ("user", {"alice": (4, 3, 6), "bob": (4, 2, 8)}),
        ("provider", {"demo": (3, 3, 6), "dashscope": (5, 2, 8)}),
        ("team", {"studio": (4, 3, 6), "(none)": (4, 2, 8)}),
    ],
)
def test_rows_per_group_add_up(usage, group, expected):
    rows = reports.usage_rows(this_month(group=group, bucket="month"))
    got = {row["group"]: (row["generations"], row["images"], row["credits"]) for row in rows}
    assert got == expected
    assert sum(row["credits"] for row in rows) == captured_in_ledger()


def test_top_users_failures_and_error_codes(usage):
    window = this_month()
    assert [(r["owner__username"], r["credits"]) for r in reports.top_users(window)] == [
        ("bob", 8),
        ("alice", 6),
    ]
    rates = {r["provider"]: (r["finished"], r["failed"]) for r in reports.failure_rates(window)}
    assert rates == {"dashscope": (4, 2), "demo": (3, 0)}
    assert reports.error_codes(window) == [
        {"provider": "dashscope", "error_code": "DataInspectionFailed", "count": 2}
    ]


def test_the_page_and_csv_show_the_same_numbers(client, admin_user, usage):
    client.force_login(admin_user)
    page = client.get(reverse("staff_usage"), {"group": "provider"})
    assert page.status_code == 200
    assert b"<svg" in page.content and b"DataInspectionFailed" in page.content
    response = client.get(reverse("staff_usage_csv"), {"group": "provider", "bucket": "month"})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["group"]: int(r["credits"]) for r in rows} == {"dashscope": 8, "demo": 6}
    assert sum(Decimal(r["provider_cost"]) for r in rows) == Decimal("0.12")


def test_an_empty_period_renders(client, db):
    staff = make_user("staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_generation"))
    client.force_login(staff)
    page = client.get(reverse("staff_usage"), {"start": "2020-01-01", "end": "2020-01-31"})
    assert page.status_code == 200 and b"Nothing in this period" in page.content
