"""One ledger, two ways of writing it on PostgreSQL: the one-statement create
and success (`billing/ledger_pg.py`) and the full ORM path (`payers_locked`,
the quota checks and `hold`; the conditional move and `capture`). Both run
over every payer case and every limit of `CreditAccount.NO_LIMIT`, each in a
savepoint rolled back afterwards, and must leave the same books: the same
generation, entries, account figures and e-mails."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone

from generations.api.serializers_account import LimitsSerializer
from generations.api.views_account import _limits
from generations.billing import ledger, ledger_pg, quotas
from generations.dashboard.staff_forms import LIMIT_FIELDS as STAFF_LIMIT_FIELDS
from generations.lifecycle import services, status
from generations.models import CreditAccount, CreditEntry, Generation, Team
from generations.models import TeamMembership as Membership

needs_postgres = pytest.mark.skipif(
    not settings.IS_POSTGRES,
    reason="the one-statement paths are PostgreSQL's; on SQLite only the full path exists",
)
ARGS = {"prompt": "a red fox", "width": 1024, "height": 1024, "provider": "demo", "seed": 7}
COST = 2  # the demo provider's price of 1024x1024
IGNORED = {"id", "created_at", "updated_at"}
# Per limit of CreditAccount.NO_LIMIT: a value the next create breaks (after
# one generation in flight, this minute, of COST), and one it keeps.
BROKEN = {
    "max_concurrent": 1,
    "max_per_minute": 1,
    "period_limit": COST + 1,
    "allowed_providers": ["dashscope"],
}
KEPT = {"max_concurrent": 5, "max_per_minute": 5, "period_limit": 1000, "allowed_providers": ["demo"]}


# --- the payer cases ----------------------------------------------------------------


def _team(owner, *, order=Team.DrawOrder.TEAM_FIRST, pool=50, frozen=False, threshold=None):
    team = Team.objects.create(name="studio", draw_order=order)
    Membership.objects.create(team=team, user=owner, is_admin=True)  # gets the pool's low-balance mail
    account = ledger.team_account(team)
    if pool:
        ledger.grant(account=account, amount=pool, note="budget")
    CreditAccount.objects.filter(pk=account.pk).update(frozen=frozen, low_balance_threshold=threshold)


def _own(owner, *, left=None, **fields):
    if left is not None:
        ledger.adjust(user=owner, amount=left - 100, actor=None, note="spent elsewhere")
    CreditAccount.objects.filter(user=owner).update(**fields)


def _setting_threshold(owner, settings):
    settings.LOW_BALANCE_THRESHOLD = 99


# name -> (setup(owner, settings), who pays: "own", "pool" or None for InsufficientCredits)
PAYERS = {
    "own": (lambda o, s: None, "own"),
    "team_first": (lambda o, s: _team(o), "pool"),
    "team_first_pool_short": (lambda o, s: _team(o, pool=1), "own"),
    "own_first": (lambda o, s: _team(o, order=Team.DrawOrder.OWN_FIRST), "own"),
    "own_first_team_last": (lambda o, s: (_team(o, order=Team.DrawOrder.OWN_FIRST), _own(o, left=1)), "pool"),
    "frozen_pool_skipped": (lambda o, s: _team(o, frozen=True), "own"),
    "frozen_pool_own_short": (lambda o, s: (_team(o, frozen=True), _own(o, left=1)), None),
    "low_balance_crossed": (lambda o, s: _own(o, low_balance_threshold=99), "own"),
    "low_balance_crossed_setting": (_setting_threshold, "own"),
    "low_balance_already_notified": (
        lambda o, s: _own(o, left=90, low_balance_threshold=99, low_balance_notified=True),
        "own",
    ),
    "low_balance_threshold_zero": (
        lambda o, s: (_setting_threshold(o, s), _own(o, low_balance_threshold=0)),
        "own",
    ),
    "low_balance_stale_flag": (lambda o, s: _own(o, low_balance_notified=True), "own"),
    "low_balance_pool_crossed": (lambda o, s: _team(o, threshold=49), "pool"),
    "insufficient_own": (lambda o, s: _own(o, left=1), None),
    "insufficient_everywhere": (lambda o, s: (_team(o, pool=1), _own(o, left=1)), None),
}
PAYING = [name for name, (_setup, payer) in PAYERS.items() if payer]


@pytest.fixture
def alice(owner, monkeypatch):
    """`owner` (100 credits) with an address for the low-balance mail, and a
    stopped clock, so both paths stamp the same times."""
    owner.email = "alice@example.com"
    owner.save()
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    return owner


# --- running a path and reading the books ---------------------------------------------


def _books() -> dict:
    generations = list(Generation.objects.order_by("created_at", "id"))
    position = {g.pk: i for i, g in enumerate(generations)}
    fields = [f for f in Generation._meta.concrete_fields if f.name not in IGNORED]
    return {
        "generations": [{f.attname: getattr(g, f.attname) for f in fields} for g in generations],
        "entries": [
            (e.account_id, e.amount, e.kind, e.note, position.get(e.generation_id))
            for e in CreditEntry.objects.order_by("pk")
        ],
        "accounts": list(
            CreditAccount.objects.order_by("pk").values_list("pk", "balance", "held", "low_balance_notified")
        ),
        "mail": [(m.to, m.subject, m.body) for m in mail.outbox],
    }


def _written() -> tuple[int, int]:
    return Generation.objects.count(), CreditEntry.objects.count()


def _run(path: str, action, monkeypatch, capture) -> tuple[object, dict, list]:
    """`action` on `path` ("one_statement" or "full") in a savepoint rolled back
    afterwards, its after-commit work (the mail) done: (its outcome, the books
    then, what each one-statement create returned and left written)."""
    real, tried = ledger_pg.generation_insert_held, []

    def spy(**kwargs):
        before = _written()
        entry = real(**kwargs)
        tried.append((entry is not None, before == _written()))
        return entry

    with monkeypatch.context() as patch, transaction.atomic():
        patch.setattr(ledger_pg, "generation_insert_held", spy)
        if path == "full":
            patch.setattr(ledger_pg, "usable", lambda: False)
        with capture(execute=True):
            try:
                outcome = action()
            except (ledger.InsufficientCredits, quotas.LimitExceeded) as refused:
                outcome = f"{type(refused).__name__}: {refused}"
        books = _books()
        mail.outbox.clear()
        transaction.set_rollback(True)
    return outcome, books, tried


def _both(action, monkeypatch, capture) -> tuple[dict, list, list]:
    """Run `action` on both paths; assert they agree; the books and what the
    one-statement create did (`tried`) on each."""
    one, books, tried = _run("one_statement", action, monkeypatch, capture)
    full, full_books, full_tried = _run("full", action, monkeypatch, capture)
    assert one == full
    assert books == full_books
    return books, tried, full_tried


def _create(user):
    return lambda: services.generation_create(user=user, claim=True, **ARGS) and "created"


# --- create: every payer case ------------------------------------------------------------


@pytest.mark.postgres
@needs_postgres
@pytest.mark.parametrize("case", list(PAYERS))
def test_both_create_paths_write_the_same_books(
    case, alice, settings, monkeypatch, django_capture_on_commit_callbacks
):
    setup, payer = PAYERS[case]
    setup(alice, settings)
    start = _written()
    books, tried, full_tried = _both(_create(alice), monkeypatch, django_capture_on_commit_callbacks)
    assert full_tried == [(False, True)]  # the full path never wrote in one statement
    if payer is None:
        assert tried == [(False, True)]  # nothing written, None: the full path then refuses
        assert _written() == start and len(books["entries"]) == start[1]
        return
    assert tried == [(True, False)]  # the one statement wrote it all
    hold = books["entries"][-1]
    assert hold[1:4] == (-COST, "hold", "demo 1024x1024")
    paid_by = CreditAccount.objects.get(pk=hold[0])
    assert ("pool" if paid_by.team_id else "own") == payer


@pytest.mark.postgres
@needs_postgres
@pytest.mark.parametrize(
    ("case", "mails", "notified"),
    [
        ("low_balance_crossed", 1, True),
        ("low_balance_crossed_setting", 1, True),
        ("low_balance_already_notified", 0, True),
        ("low_balance_threshold_zero", 0, False),
        ("low_balance_stale_flag", 0, False),
        ("low_balance_pool_crossed", 1, True),
    ],
)
def test_the_low_balance_cases_do_what_the_full_path_does(
    case, mails, notified, alice, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Equal is not enough when both could be wrong: what each case must do."""
    PAYERS[case][0](alice, settings)
    books, _tried, _full = _both(_create(alice), monkeypatch, django_capture_on_commit_callbacks)
    assert len(books["mail"]) == mails
    payer = books["entries"][-1][0]
    assert {pk: low for pk, _b, _h, low in books["accounts"]}[payer] is notified


# --- create: every limit -------------------------------------------------------------------


def test_the_limit_cases_cover_every_limit():
    assert set(BROKEN) == set(KEPT) == set(CreditAccount.NO_LIMIT)


@pytest.mark.postgres
@needs_postgres
@pytest.mark.parametrize("broken", [True, False], ids=["broken", "kept"])
@pytest.mark.parametrize("limit", list(CreditAccount.NO_LIMIT))
def test_a_limit_sends_the_create_to_the_full_path_which_enforces_it(
    limit, broken, alice, monkeypatch, django_capture_on_commit_callbacks
):
    services.generation_create(user=alice, claim=True, **ARGS)  # in flight, this minute, COST spent
    CreditAccount.objects.filter(user=alice).update(**{limit: (BROKEN if broken else KEPT)[limit]})
    start = _written()
    books, tried, _full = _both(_create(alice), monkeypatch, django_capture_on_commit_callbacks)
    assert tried == [(False, True)]  # the one statement wrote nothing and returned None
    assert len(books["generations"]) == start[0] + (0 if broken else 1)


@pytest.mark.postgres
@needs_postgres
def test_a_limit_added_to_the_list_is_honoured_by_the_one_statement_create(alice, monkeypatch):
    """The `own` condition is generated from CreditAccount.NO_LIMIT: a new
    entry (here monthly_allowance, standing in for a future limit) keeps an
    account that sets it out of the one statement."""
    monkeypatch.setattr(CreditAccount, "NO_LIMIT", {**CreditAccount.NO_LIMIT, "monthly_allowance": 0})
    caches = (ledger_pg._limit_fields, ledger_pg._create_sql)
    for cached in caches:
        cached.cache_clear()
    try:
        CreditAccount.objects.filter(user=alice).update(monthly_allowance=5)
        assert ledger.account_for(alice).has_limits()
        built = Generation(owner=alice, credits_cost=COST, **ARGS)
        assert ledger.generation_insert_held(generation=built, cost=COST) is None
        assert _written() == (0, 1)  # alice's grant only
        CreditAccount.objects.filter(user=alice).update(monthly_allowance=0)
        assert ledger.generation_insert_held(generation=built, cost=COST) is not None
    finally:  # built again from the real list by the next create
        for cached in caches:
            cached.cache_clear()


# --- success ---------------------------------------------------------------------------------

STORED = {
    "image": "generations/1/2026/03/x.png",
    "thumbnail": "generations/1/2026/03/x.thumb.webp",
    "image_width": 1024,
    "image_height": 1024,
    "image_bytes": 1234,
    "sha256": "ab" * 32,
    "content_type": "image/png",
}


def _succeed(user, source: str, path: str, monkeypatch, ran: list):
    """Create (one statement, the same on both), then succeed on `path`;
    `ran` gets what each one-statement success returned."""

    def action():
        gen = services.generation_create(user=user, claim=True, **ARGS)
        if source == "storing":
            status.move(gen.pk, sources="running", target="storing", source_url="https://x/y.png")
        if source == "cancel_requested":
            Generation.objects.filter(pk=gen.pk).update(cancel_requested=True)
        real = ledger_pg.generation_succeed_captured
        with monkeypatch.context() as patch:
            if path == "full":
                patch.setattr(ledger_pg, "usable", lambda: False)
            patch.setattr(
                ledger_pg, "generation_succeed_captured", lambda **kw: ran.append(real(**kw)) or ran[-1]
            )
            return status.generation_succeed(
                gen, source="storing" if source == "storing" else "running", fields=dict(STORED)
            )

    return action


@pytest.mark.postgres
@needs_postgres
@pytest.mark.parametrize("source", ["running", "storing", "cancel_requested"])
@pytest.mark.parametrize("case", PAYING)
def test_both_success_paths_write_the_same_books(
    case, source, alice, settings, monkeypatch, django_capture_on_commit_callbacks
):
    PAYERS[case][0](alice, settings)
    results, books, ran = [], [], {"one_statement": [], "full": []}
    for path in ("one_statement", "full"):
        with transaction.atomic():
            with django_capture_on_commit_callbacks(execute=True):
                results.append(_succeed(alice, source, path, monkeypatch, ran[path])())
            books.append(_books())
            mail.outbox.clear()
            transaction.set_rollback(True)
    assert books[0] == books[1]
    succeeded = source != "cancel_requested"
    assert results == [succeeded, succeeded]
    assert ran == {"one_statement": [succeeded], "full": []}  # the full path moved and captured itself
    kinds = [kind for _a, _m, kind, _n, gen in books[0]["entries"] if gen is not None]
    assert kinds == (["hold", "capture"] if succeeded else ["hold"])
    assert books[0]["generations"][-1]["status"] == ("succeeded" if succeeded else "running")


# --- the one list, read everywhere (any database) ---------------------------------------------


@pytest.mark.parametrize("limit", list(CreditAccount.NO_LIMIT))
def test_has_limits_reads_each_limit_of_the_list(limit):
    account = CreditAccount()
    assert not account.has_limits()
    setattr(account, limit, BROKEN[limit])
    assert account.has_limits()


def test_the_admin_staff_and_api_lists_come_from_the_model():
    from generations.admin.forms import AccountLimitsForm

    limits = list(CreditAccount.NO_LIMIT)
    assert list(AccountLimitsForm.Meta.fields) == [*limits, "low_balance_threshold"]
    assert list(STAFF_LIMIT_FIELDS) == [n for n in limits if n != "allowed_providers"]
    assert list(LimitsSerializer().fields) == [*limits, "frozen"]
    assert list(_limits(CreditAccount())) == [*limits, "frozen"]


def test_quotas_let_an_account_without_limits_through_unchecked(owner, django_assert_num_queries):
    account = ledger.account_for(owner)
    with django_assert_num_queries(0):
        quotas.quota_check_create(user=owner, account=account, provider="demo", cost=COST)
