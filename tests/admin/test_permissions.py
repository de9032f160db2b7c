"""Every admin action and staff page declares the permission it needs: a staff
user who may only view changes nothing, whatever they post (issue 18, 1)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.socialaccount.models import SocialAccount
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from generations.accounts import invitations
from generations.api import tokens
from generations.billing import ledger, quotas
from generations.lifecycle import batches, services
from generations.models import (
    AuditLog,
    CreditAccount,
    CreditRequest,
    GroupMapping,
    PriceRule,
    Prompt,
    ProviderConfig,
    ProviderRoute,
    Team,
    TeamMembership,
    WebhookDelivery,
)
from tests.conftest import make_user

# Whatever any action's intermediate form asks for, filled in.
FORM_DATA = {
    "apply": "1",
    "post": "yes",  # delete_selected's confirmation
    "amount": "1000",
    "reason": "x",
    "monthly_allowance": "500",
    "carry_over": "on",
}


def every_action():
    """(model admin, action name) for every action of every registered ModelAdmin,
    Django's delete_selected included, before any permission filtering."""
    return [
        pytest.param(model_admin, name, id=f"{model._meta.label}.{name}")
        for model, model_admin in admin.site._registry.items()
        for _func, name, _description in model_admin._get_base_actions()
    ]


def staff_with(*codenames, username="viewer"):
    user = make_user(username, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def view_only(client, db):
    """A staff user with every view_* permission and nothing else."""
    user = make_user("viewer", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(user)
    return user


@pytest.fixture
def rows(owner, other, admin_user):
    """At least one row of every registered model, so a forged action has
    something to select; an expired sign-in attempt for axes' clean-up."""
    account = ledger.account_for(owner)
    quotas.account_grant(account=account, amount=5, actor=admin_user, reason="audited")
    team = Team.objects.create(name="studio")
    TeamMembership.objects.create(team=team, user=other)
    ledger.team_account(team)
    Group.objects.create(name="editors")
    generation = services.generation_create(
        user=owner, prompt="a fox", width=1024, height=1024, provider="demo", seed=1
    )
    WebhookDelivery.objects.create(generation=generation, url="https://example.com/hook")
    batches.batch_create(user=owner, items=batches.items_repeat(prompt="p", width=1024, height=1024, n=2))
    Prompt.objects.create(owner=owner, title="fox", text="a fox")
    CreditRequest.objects.create(requester=other, amount=10, reason="posters")
    tokens.api_token_create(user=owner, name="laptop")
    PriceRule.objects.create(provider="demo", max_megapixels=Decimal("2"), credits=3)
    ProviderConfig.objects.get_or_create(name="demo")
    ProviderRoute.objects.create(name="fast", providers="demo")
    base = {"user_agent": "x", "ip_address": "10.0.0.1", "username": "alice", "http_accept": "*/*"}
    attempt = AccessAttempt.objects.create(**base, get_data="", post_data="", failures_since_start=1)
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=timezone.now() - timedelta(days=2))
    AccessLog.objects.create(**base)
    AccessFailureLog.objects.create(**base)
    invitations.invite(inviter=admin_user, email="new@example.com", team=team)
    GroupMapping.objects.create(group="designers", team=team)
    SocialAccount.objects.create(user=other, provider="keycloak", uid="42")
    for model in admin.site._registry:
        assert model._default_manager.exists(), f"no {model._meta.label} row to act on"


def snapshot():
    """Every row of every registered model (the ledger, balances and audit log among them)."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in admin.site._registry
    }


@pytest.mark.parametrize(("model_admin", "action"), every_action())
def test_a_view_only_staff_user_can_run_no_action(client, view_only, rows, model_admin, action):
    opts = model_admin.model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    page = client.get(url)
    assert page.status_code == 200  # they may look
    action_form = page.context.get("action_form")
    offered = [name for name, _label in action_form.fields["action"].choices] if action_form else []
    assert action not in offered
    before = snapshot()
    selected = [str(pk) for pk in model_admin.model._default_manager.values_list("pk", flat=True)]
    ask = client.post(url, {"action": action, "_selected_action": selected})
    assert back_to_the_list(ask)  # not even the intermediate form
    forged = client.post(url, {"action": action, "_selected_action": selected, **FORM_DATA})
    assert back_to_the_list(forged)
    assert snapshot() == before


def back_to_the_list(response) -> bool:
    """A refused action: a redirect to the list ("no action selected") or, where
    the user may run no action at all, the list itself."""
    if response.status_code == 302:
        return True
    names = {t.name for t in response.templates}
    return response.status_code == 200 and "admin/change_list.html" in names


def test_every_action_declares_its_permissions():
    for param in every_action():
        model_admin, name = param.values
        func = model_admin.get_action(name)[0]
        permissions = getattr(func, "allowed_permissions", ())
        assert permissions, f"{param.id} declares no permission"
        for permission in permissions:
            assert hasattr(model_admin, f"has_{permission}_permission"), param.id


def run(client, model, action, objs, **data):
    url = reverse(f"admin:generations_{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": [o.pk for o in objs], **data})


def test_granting_credits_needs_its_own_permission_not_change(client, owner):
    account = ledger.account_for(owner)
    client.force_login(staff_with("view_creditaccount", "change_creditaccount"))
    run(client, "creditaccount", "grant_credits", [account], apply="1", amount="1000", reason="x")
    run(client, "creditaccount", "set_allowance", [account], apply="1", monthly_allowance="500", reason="x")
    account.refresh_from_db()
    assert (account.balance, account.monthly_allowance) == (100, 0)
    run(client, "creditaccount", "freeze", [account], apply="1", reason="abuse")  # change is enough
    account.refresh_from_db()
    assert account.frozen


def test_the_grant_credits_permission_grants_deducts_and_sets_allowances(client, owner):
    account = ledger.account_for(owner)
    client.force_login(staff_with("view_creditaccount", "grant_credits"))
    page = run(client, "creditaccount", "grant_credits", [account])
    assert page.status_code == 200 and b'name="amount"' in page.content
    run(client, "creditaccount", "grant_credits", [account], apply="1", amount="1000", reason="x")
    run(client, "creditaccount", "deduct_credits", [account], apply="1", amount="100", reason="x")
    run(client, "creditaccount", "set_allowance", [account], apply="1", monthly_allowance="500", reason="x")
    run(client, "creditaccount", "freeze", [account], apply="1", reason="x")  # needs change
    account.refresh_from_db()
    assert (account.balance, account.monthly_allowance, account.frozen) == (1000, 500, False)


def test_deleting_a_price_rule_or_provider_needs_the_delete_permission(client, db):
    rule = PriceRule.objects.create(provider="demo", max_megapixels=Decimal("2"), credits=3)
    config, _ = ProviderConfig.objects.get_or_create(name="demo")
    client.force_login(staff_with("view_pricerule", "view_providerconfig", "change_pricerule"))
    run(client, "pricerule", "delete_with_reason", [rule], apply="1", reason="x")
    assert PriceRule.objects.filter(pk=rule.pk).exists()
    client.force_login(
        staff_with(
            "view_pricerule",
            "delete_pricerule",
            "view_providerconfig",
            "delete_providerconfig",
            username="deleter",
        )
    )
    run(client, "pricerule", "delete_with_reason", [rule], apply="1", reason="x")
    run(client, "providerconfig", "delete_with_reason", [config], apply="1", reason="x")
    assert not PriceRule.objects.filter(pk=rule.pk).exists()
    assert not ProviderConfig.objects.filter(pk=config.pk).exists()


def test_the_stock_delete_still_works_with_the_delete_permission(client, owner):
    prompt = Prompt.objects.create(owner=owner, text="a fox")
    client.force_login(staff_with("view_prompt", "delete_prompt"))
    run(client, "prompt", "delete_selected", [prompt], post="yes")
    assert not Prompt.objects.filter(pk=prompt.pk).exists()


@pytest.mark.parametrize("name", ["staff_usage", "staff_usage_csv"])
def test_the_usage_report_needs_the_permission_to_view_generations(client, db, name):
    client.force_login(staff_with("view_creditaccount"))
    assert client.get(reverse(name)).status_code == 403
    client.force_login(staff_with("view_generation", username="reporter"))
    assert client.get(reverse(name)).status_code == 200


def test_the_credit_account_permission_exists(db):
    assert Permission.objects.filter(
        codename="grant_credits", content_type__model=CreditAccount._meta.model_name
    ).exists()


def team_post(team, *members):
    """The team change form with `members` ((user, is_admin), ...) added inline."""
    data = {
        "name": team.name,
        "draw_order": team.draw_order,
        "reason": "join",
        "memberships-TOTAL_FORMS": str(len(members)),
        "memberships-INITIAL_FORMS": "0",
    }
    for i, (user, is_admin) in enumerate(members):
        data[f"memberships-{i}-user"] = user.pk
        if is_admin:
            data[f"memberships-{i}-is_admin"] = "on"
    return data


def test_joining_a_team_needs_the_credit_permission_and_is_audited(client, owner):
    """Membership decides who spends the pool: change_team and add_teammembership are not enough."""
    team = Team.objects.create(name="rich")
    ledger.team_account(team)
    staff = staff_with("view_team", "change_team", "add_teammembership", "change_teammembership")
    client.force_login(staff)
    client.post(f"/admin/generations/team/{team.pk}/change/", team_post(team, (staff, True)))
    assert not TeamMembership.objects.filter(team=team).exists()
    staff.user_permissions.add(Permission.objects.get(codename="grant_credits"))
    client.force_login(staff)
    response = client.post(f"/admin/generations/team/{team.pk}/change/", team_post(team, (owner, False)))
    assert response.status_code == 302
    assert TeamMembership.objects.filter(team=team, user=owner).exists()
    log = AuditLog.objects.get(action="team members")
    assert log.after == {"members": [owner.username]} and log.reason == "join"
