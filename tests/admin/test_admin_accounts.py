"""Every admin action changes the ledger as stated, asks for a reason, and is audited."""

import pytest
from django.urls import reverse

from generations.billing import ledger
from generations.models import AuditLog, CreditAccount, CreditEntry, Team

CHANGELIST = "admin:generations_creditaccount_changelist"


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def run_action(client, action, accounts, **data):
    """Choose the action (the intermediate page), then submit its form."""
    url = reverse(CHANGELIST)
    selected = [a.pk for a in accounts]
    page = client.post(url, {"action": action, "_selected_action": selected})
    assert page.status_code == 200 and b'name="reason"' in page.content
    return client.post(url, {"action": action, "_selected_action": selected, "apply": "1", **data})


def audit(action):
    return AuditLog.objects.filter(action=action).order_by("-id").first()


def test_grant_writes_a_ledger_entry_and_an_audit_record(staff, owner, other, admin_user):
    accounts = [ledger.account_for(owner), ledger.account_for(other)]
    response = run_action(staff, "grant_credits", accounts, amount="25", reason="welcome bonus")
    assert response.status_code == 302
    for user in (owner, other):
        assert ledger.balance(user=user).available == 125
        entry = CreditEntry.objects.filter(account__user=user).first()
        assert (entry.kind, entry.amount, entry.actor, entry.note) == (
            "grant",
            25,
            admin_user,
            "welcome bonus",
        )
    log = audit("grant")
    assert (log.actor, log.before, log.after, log.reason) == (
        admin_user,
        {"balance": 100},
        {"balance": 125},
        "welcome bonus",
    )
    assert ledger.ledger_problems() == []


def test_deduct_is_an_adjustment_and_refuses_below_zero(staff, owner, admin_user):
    account = ledger.account_for(owner)
    run_action(staff, "deduct_credits", [account], amount="40", reason="refund to card")
    entry = CreditEntry.objects.filter(account=account).first()
    assert (entry.kind, entry.amount, entry.actor) == ("adjustment", -40, admin_user)
    assert audit("deduct").after == {"balance": 60}
    response = run_action(staff, "deduct_credits", [account], amount="61", reason="too much")
    assert ledger.balance(user=owner).available == 60
    assert "only 60 are available" in " ".join(m.message for m in response.wsgi_request._messages)


def test_every_action_requires_a_reason(staff, owner):
    account = ledger.account_for(owner)
    for action, data in [
        ("grant_credits", {"amount": "5"}),
        ("freeze", {}),
        ("set_allowance", {"monthly_allowance": "10"}),
    ]:
        response = run_action(staff, action, [account], reason="  ", **data)
        assert response.status_code == 200 and b"This field is required" in response.content
    account.refresh_from_db()
    assert (account.balance, account.frozen, account.monthly_allowance) == (100, False, 0)
    assert not AuditLog.objects.exists()


def test_set_allowance_freeze_and_unfreeze_are_audited(staff, owner, admin_user):
    account = ledger.account_for(owner)
    run_action(staff, "set_allowance", [account], monthly_allowance="300", reason="pro plan")
    account.refresh_from_db()
    assert (account.monthly_allowance, account.carry_over) == (300, False)
    assert audit("set allowance").after == {"carry_over": False, "monthly_allowance": 300}
    run_action(staff, "freeze", [account], reason="card declined")
    account.refresh_from_db()
    assert account.frozen and audit("freeze").before == {"frozen": False}
    run_action(staff, "unfreeze", [account], reason="paid")
    account.refresh_from_db()
    assert not account.frozen and audit("unfreeze").reason == "paid"
    assert CreditEntry.objects.filter(account=account).count() == 1  # no credits moved


def test_limits_are_edited_with_a_reason_and_audited(staff, owner, admin_user):
    account = ledger.account_for(owner)
    url = reverse("admin:generations_creditaccount_change", args=[account.pk])
    assert staff.get(url).status_code == 200
    data = {
        "max_concurrent": "2",
        "max_per_minute": "5",
        "period_limit": "500",
        "allowed_providers": ["demo"],
        "low_balance_threshold": "",
        "entries-TOTAL_FORMS": "0",
        "entries-INITIAL_FORMS": "0",
    }
    assert staff.post(url, data).status_code == 200  # no reason: refused
    response = staff.post(url, {**data, "reason": "intern"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert (
        account.max_concurrent,
        account.max_per_minute,
        account.period_limit,
        account.allowed_providers,
    ) == (2, 5, 500, ["demo"])
    log = audit("set limits")
    assert log.before["period_limit"] == 0 and log.after["period_limit"] == 500
    assert log.after["allowed_providers"] == ["demo"] and log.reason == "intern"


def test_a_team_is_onboarded_with_a_pool_and_a_budget(staff, owner, admin_user):
    url = reverse("admin:generations_team_add")
    response = staff.post(
        url,
        {
            "name": "studio",
            "draw_order": "team_first",
            "reason": "new client",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": owner.pk,
            "memberships-0-is_admin": "on",
        },
    )
    assert response.status_code == 302, response.content
    pool = CreditAccount.objects.get(team=Team.objects.get(name="studio"))
    team_logs = AuditLog.objects.filter(object_type="Team")
    assert team_logs.exclude(action="team members").get().after["draw_order"] == "team_first"
    assert team_logs.get(action="team members").after == {"members": [f"{owner.username} (admin)"]}
    assert staff.get(reverse("admin:generations_team_changelist")).status_code == 200
    run_action(staff, "grant_credits", [pool], amount="500", reason="Q4 budget")
    run_action(
        staff, "set_allowance", [pool], monthly_allowance="1000", carry_over="on", reason="monthly budget"
    )
    pool.refresh_from_db()
    assert (pool.balance, pool.monthly_allowance, pool.carry_over) == (500, 1000, True)
    assert ledger.ledger_problems() == []


def test_a_team_pool_shows_no_per_user_limits(staff, owner):
    pool = ledger.team_account(Team.objects.create(name="studio"))
    url = reverse("admin:generations_creditaccount_change", args=[pool.pk])
    page = staff.get(url)
    assert page.status_code == 200 and b'name="period_limit"' not in page.content
    response = staff.post(
        url,
        {
            "low_balance_threshold": "20",
            "reason": "warn the team admins",
            "entries-TOTAL_FORMS": "0",
            "entries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    pool.refresh_from_db()
    assert pool.low_balance_threshold == 20
