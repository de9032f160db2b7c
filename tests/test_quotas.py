"""Limits at create time, team pools, monthly allowances, low-balance mail, prices."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generations.billing import ledger, pricing, quotas
from generations.lifecycle import services, status
from generations.models import CreditAccount, CreditEntry, Generation, PriceRule, ProviderConfig, Team
from generations.models import TeamMembership as Membership
from tests.conftest import make_user


def create(user, **kw):
    args = {"prompt": "a red fox", "width": 1024, "height": 1024, "provider": "demo"}
    return services.generation_create(user=user, **{**args, **kw})


def set_account(user, **fields):
    CreditAccount.objects.filter(user=user).update(**fields)


# --- limits at create ------------------------------------------------------------


def test_it_refuses_a_frozen_account_with_a_clear_message(owner):
    set_account(owner, frozen=True)
    with pytest.raises(quotas.AccountFrozen, match="frozen by an admin"):
        create(owner)
    assert Generation.objects.count() == 0
    assert ledger.balance(user=owner).available == 100


def test_it_refuses_more_than_the_per_minute_limit(owner):
    set_account(owner, max_per_minute=2)
    create(owner)
    create(owner)
    with pytest.raises(services.LimitExceeded, match=r"at most 2 images a minute; try again in \d+"):
        create(owner)
    Generation.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    create(owner)  # a minute later it is allowed again


def test_it_enforces_allowed_providers(owner):
    set_account(owner, allowed_providers=["dashscope"])
    with pytest.raises(quotas.ProviderNotAllowed, match="may not use demo"):
        create(owner)
    set_account(owner, allowed_providers=["demo"])
    assert create(owner).provider == "demo"


def test_it_enforces_the_monthly_hard_limit(owner):
    set_account(owner, period_limit=5)
    create(owner)
    create(owner)  # 4 of 5 spent
    with pytest.raises(services.LimitExceeded, match="above your limit of 5 credits"):
        create(owner)
    gen = Generation.objects.first()
    status.generation_fail(generation=gen, code="X", message="x")  # refunded: not spent
    create(owner)


# --- team pools -------------------------------------------------------------------


@pytest.fixture
def team(owner):
    team = Team.objects.create(name="studio")
    Membership.objects.create(team=team, user=owner)
    ledger.grant(account=ledger.team_account(team), amount=50, note="budget")
    return team


def test_a_team_member_draws_from_the_pool_first_and_settles_there(owner, team):
    pool = ledger.team_account(team)
    gen = create(owner)
    assert CreditEntry.objects.get(generation=gen, kind="hold").account == pool
    pool.refresh_from_db()
    assert (pool.balance, pool.held) == (48, 2)
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    ledger.capture(generation=gen)
    pool.refresh_from_db()
    assert (pool.balance, pool.held) == (48, 0)
    failed = create(owner)
    status.generation_fail(generation=failed, code="X", message="x")
    pool.refresh_from_db()
    assert (pool.balance, pool.held) == (48, 0)
    assert ledger.ledger_problems() == []


def test_an_image_made_in_the_web_process_is_captured_on_the_pool_that_held_it(owner, team):
    from generations.lifecycle import pipeline

    gen = create(owner, claim=True)  # as the OpenAI endpoint does
    assert (gen.status, gen.attempts) == ("running", 1)  # claimed, never queued
    pipeline.generation_run_now(generation=gen)
    assert gen.status == "succeeded" and gen.image  # the answer needs no read back
    pool = ledger.team_account(team)
    assert (pool.balance, pool.held) == (48, 0)
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    assert [e.kind for e in CreditEntry.objects.filter(generation=gen).order_by("pk")] == ["hold", "capture"]
    assert ledger.ledger_problems() == []


def test_own_first_falls_back_to_the_pool_and_a_frozen_pool_is_skipped(owner, team):
    team.draw_order = Team.DrawOrder.OWN_FIRST
    team.save()
    pool = ledger.team_account(team)
    assert CreditEntry.objects.get(generation=create(owner), kind="hold").account.user == owner
    ledger.adjust(user=owner, amount=-98, actor=None, note="spend it")  # 0 left of its own
    assert CreditEntry.objects.get(generation=create(owner), kind="hold").account == pool
    CreditAccount.objects.filter(pk=pool.pk).update(frozen=True)
    with pytest.raises(ledger.InsufficientCredits):
        create(owner)
    assert ledger.ledger_problems() == []


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="the one-statement create is PostgreSQL's")
def test_a_plain_create_and_its_success_write_in_one_statement_each(owner, team):
    """generations.billing.ledger_pg: no BEGIN, lock, INSERTs and UPDATEs, but the
    same books; a limit set sends the create through the full path's checks."""
    from generations.lifecycle import pipeline

    pool = ledger.team_account(team)
    before = pool.balance
    with CaptureQueriesContext(connection) as queries:
        gen = create(owner, claim=True)
    writes = [q["sql"] for q in queries if "generations_creditentry" in q["sql"]]
    assert len(writes) == 1 and 'INSERT INTO "generations_generation"' in writes[0]
    assert Generation.objects.get(pk=gen.pk).status == "running"
    hold = CreditEntry.objects.get(generation=gen, kind="hold")
    assert (hold.account, hold.amount, hold.pk) == (pool, -gen.credits_cost, gen.hold_entry.pk)
    pool.refresh_from_db()
    assert (pool.balance, pool.held) == (before - gen.credits_cost, gen.credits_cost)
    with CaptureQueriesContext(connection) as queries:
        pipeline.generation_run_now(generation=gen)  # the demo provider's bytes in hand
    writes = [q["sql"] for q in queries if "generations_creditentry" in q["sql"]]
    assert len(writes) == 1 and 'UPDATE "generations_generation"' in writes[0]
    assert Generation.objects.get(pk=gen.pk).status == "succeeded" and gen.image
    assert [e.kind for e in CreditEntry.objects.filter(generation=gen).order_by("pk")] == ["hold", "capture"]
    pool.refresh_from_db()
    assert (pool.balance, pool.held) == (before - gen.credits_cost, 0)
    assert ledger.ledger_problems() == []
    set_account(owner, max_per_minute=1)
    with pytest.raises(quotas.LimitExceeded, match="at most 1 images a minute"):
        create(owner)
    assert Generation.objects.filter(owner=owner).count() == 1


def test_an_account_has_exactly_one_owner(owner, team):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAccount.objects.create(user=make_user("both"), team=team)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAccount.objects.create()


# --- monthly allowance --------------------------------------------------------------


def next_period(months=1):
    start = quotas.period_start()
    for _ in range(months):
        start = quotas.period_start(start + timedelta(days=40))
    return start + timedelta(days=2, hours=5)  # late in the period: the task was down


def allowance_entries(user):
    return CreditEntry.objects.filter(account__user=user, kind="quota_reset")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        (datetime(2027, 1, 31, 12, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)),
        (datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)),
    ],
)
def test_the_allowance_resets_at_the_start_of_the_next_month(owner, now, expected):
    account = ledger.account_for(owner)
    assert quotas.allowance_resets_at(account, now=now) is None  # no allowance, no reset
    account.monthly_allowance = 500
    assert quotas.allowance_resets_at(account, now=now) == expected


def test_the_allowance_is_granted_once_per_period_even_when_run_twice_or_late(owner):
    set_account(owner, monthly_allowance=30)
    quotas.allowance_run()
    quotas.allowance_run()
    assert ledger.balance(user=owner).available == 130
    quotas.allowance_run(now=next_period())
    quotas.allowance_run(now=next_period())
    assert ledger.balance(user=owner).available == 160
    assert allowance_entries(owner).count() == 2


def test_unused_allowance_expires_without_touching_held_credits(owner):
    set_account(owner, monthly_allowance=30, carry_over=False)
    quotas.allowance_run()
    create(owner)  # 2 credits held, counted as spent from the allowance
    ledger.capture(generation=create(owner))  # 2 more spent
    quotas.allowance_run(now=next_period())
    expired = allowance_entries(owner).get(amount__lt=0)
    assert expired.amount == -26 and "expired" in expired.note
    assert ledger.balance(user=owner) == ledger.Balance(available=100 + 30 - 4 - 26 + 30, held=2)
    quotas.allowance_run(now=next_period())
    assert allowance_entries(owner).count() == 3
    assert ledger.ledger_problems() == []


def test_expiry_never_goes_below_zero(owner, admin_user):
    set_account(owner, monthly_allowance=30, carry_over=False)
    quotas.allowance_run()
    ledger.adjust(user=owner, amount=-125, actor=admin_user, note="spent elsewhere")
    quotas.allowance_run(now=next_period())
    assert allowance_entries(owner).get(amount__lt=0).amount == -5
    assert ledger.balance(user=owner).available == 30


def test_carried_over_allowance_stays(owner):
    set_account(owner, monthly_allowance=10)
    quotas.allowance_run()
    quotas.allowance_run(now=next_period())
    assert ledger.balance(user=owner).available == 120


# --- low-balance mail -----------------------------------------------------------------


def test_low_balance_mail_is_sent_once_per_crossing(owner, admin_user, django_capture_on_commit_callbacks):
    owner.email = "alice@example.com"
    owner.save()
    set_account(owner, low_balance_threshold=50)
    with django_capture_on_commit_callbacks(execute=True):
        ledger.adjust(user=owner, amount=-60, actor=admin_user, note="a")
        ledger.adjust(user=owner, amount=-5, actor=admin_user, note="b")
        create(owner)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"] and "down to 33" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        ledger.grant(user=owner, amount=100)  # back above: the next fall mails again
        ledger.adjust(user=owner, amount=-100, actor=admin_user, note="c")
    assert len(mail.outbox) == 2


def test_the_env_threshold_applies_when_the_account_has_none(
    owner, settings, django_capture_on_commit_callbacks
):
    settings.LOW_BALANCE_THRESHOLD = 99
    owner.email = "alice@example.com"
    owner.save()
    with django_capture_on_commit_callbacks(execute=True):
        create(owner)
    assert len(mail.outbox) == 1


# --- prices --------------------------------------------------------------------------


def test_price_rules_replace_the_defaults_and_never_change_the_past(owner):
    before = create(owner)
    assert before.credits_cost == 2 and before.provider_price == 0
    PriceRule.objects.create(
        provider="",
        max_megapixels=Decimal("1.05"),
        credits=5,
        prompt_extend_surcharge=3,
        provider_cost=Decimal("0.1"),
    )
    PriceRule.objects.create(provider="", max_megapixels=Decimal("4.2"), credits=9)
    after = create(owner, prompt_extend=True)
    assert (after.credits_cost, after.provider_price) == (8, Decimal("0.1"))
    assert pricing.price(provider="demo", width=2048, height=2048, prompt_extend=False) == 9
    PriceRule.objects.create(provider="demo", max_megapixels=Decimal("4.2"), credits=1)
    assert pricing.price(provider="demo", width=1024, height=1024, prompt_extend=False) == 1
    before.refresh_from_db()
    after.refresh_from_db()
    assert (before.credits_cost, after.credits_cost) == (2, 8)
    assert ledger.balance(user=owner).held == 10


@pytest.mark.parametrize(
    "value, ok",
    [
        ("DASHSCOPE_API_KEY", True),
        ("MY_KEY", True),
        ("AIML_KEY_2", True),
        ("sk-4f9a8b7c6d5e4f3a2b1c", False),
        ("AKIAIOSFODNN7EXAMPLE", False),
        ("dashscope_api_key", False),
        ("A1B2C3D4E5F6_G7H8I9J0", False),
    ],
)
def test_the_key_field_takes_an_env_name_never_a_key(db, value, ok):
    config = ProviderConfig(name="dashscope", api_key_env=value)
    if ok:
        config.full_clean()
    else:
        with pytest.raises(ValidationError, match="NAME of an environment variable"):
            config.full_clean()
