"""A non-staff user reaches none of the admin, the staff pages or the CSV;
a team admin reaches only their own team's members."""

import pytest
from django.urls import reverse

from generations.billing import ledger
from generations.models import AuditLog, CreditAccount, Generation, Team, TeamMembership
from tests.conftest import make_user

ADMIN_PAGES = [
    "admin:index",
    "admin:generations_creditaccount_changelist",
    "admin:generations_pricerule_changelist",
    "admin:generations_providerconfig_changelist",
    "admin:generations_auditlog_changelist",
    "admin:generations_team_changelist",
]


@pytest.mark.parametrize("name", ADMIN_PAGES + ["staff_usage", "staff_usage_csv"])
def test_a_non_staff_user_is_sent_to_the_login(client, owner, name):
    client.force_login(owner)
    response = client.get(reverse(name))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_non_staff_user_cannot_post_an_admin_action(client, owner):
    client.force_login(owner)
    account = ledger.account_for(owner)
    client.post(
        reverse("admin:generations_creditaccount_changelist"),
        {
            "action": "grant_credits",
            "_selected_action": [account.pk],
            "apply": "1",
            "amount": "1000",
            "reason": "me",
        },
    )
    assert ledger.balance(user=owner).available == 100


def test_the_team_page_is_for_team_admins_only(client, owner, other):
    client.force_login(owner)
    assert client.get(reverse("staff_team")).status_code == 403
    client.logout()
    assert client.get(reverse("staff_team")).status_code == 302


@pytest.fixture
def team(owner, other):
    team = Team.objects.create(name="studio")
    TeamMembership.objects.create(team=team, user=owner, is_admin=True)
    TeamMembership.objects.create(team=team, user=other)
    pool = ledger.team_account(team)
    CreditAccount.objects.filter(pk=pool.pk).update(monthly_allowance=1000)
    return team


def test_a_team_admin_caps_a_member_within_the_pool(client, owner, other, team):
    client.force_login(owner)
    outsider = ledger.account_for(make_user("carol"))
    page = client.get(reverse("staff_team"))
    assert page.status_code == 200 and b"bob" in page.content and b"carol" not in page.content
    account = ledger.account_for(other)
    data = {
        "account": account.pk,
        "max_concurrent": "1",
        "max_per_minute": "3",
        "period_limit": "200",
        "reason": "new joiner",
    }
    assert client.post(reverse("staff_team"), data).status_code == 302
    account.refresh_from_db()
    assert (account.max_concurrent, account.max_per_minute, account.period_limit) == (1, 3, 200)
    log = AuditLog.objects.get(action="team limits")
    assert (log.actor, log.after["period_limit"], log.reason) == (owner, 200, "new joiner")
    client.post(reverse("staff_team"), {**data, "period_limit": "5000"})  # above the pool's budget
    account.refresh_from_db()
    assert account.period_limit == 200
    assert client.post(reverse("staff_team"), {**data, "account": outsider.pk}).status_code == 404


@pytest.mark.parametrize("model", ["generation", "auditlog"])
@pytest.mark.parametrize(
    "drill",
    [
        "created_at__year=9999&created_at__month=12&created_at__day=31",
        "created_at__year=9999&created_at__month=12",
        "created_at__year=9999",
    ],
)
def test_a_date_drill_down_past_the_calendar_is_refused_not_a_500(client, admin_user, model, drill):
    client.force_login(admin_user)
    response = client.get(f"/admin/generations/{model}/?{drill}")
    assert response.status_code == 302 and response.url.endswith("?e=1")


def test_a_generation_cannot_be_deleted_in_the_admin_even_by_a_superuser(client, admin_user, owner):
    """Deleting the row would strand its hold: the ledger's entries keep no generation."""
    from generations.lifecycle import services

    gen = services.generation_create(user=owner, prompt="fox", width=512, height=512, provider="demo")
    client.force_login(admin_user)
    page = client.get(f"/admin/generations/generation/{gen.pk}/delete/")
    assert page.status_code == 403
    response = client.post(
        "/admin/generations/generation/",
        {"action": "delete_selected", "_selected_action": [gen.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert Generation.objects.filter(pk=gen.pk).exists()
    assert ledger.balance(user=owner).held == gen.credits_cost


def test_a_revoked_token_cannot_be_brought_back_in_the_admin_only_revoked(client, admin_user, owner):
    from generations.api import tokens
    from generations.models import ApiToken

    token, raw = tokens.api_token_create(user=owner, name="t")
    client.force_login(admin_user)
    client.post("/admin/generations/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None and tokens.api_token_authenticate(raw) is None
    assert AuditLog.objects.filter(action="revoke token", object_id=str(token.pk)).exists()
    client.post(
        f"/admin/generations/apitoken/{token.pk}/change/",
        {"revoked_at_0": "", "revoked_at_1": "", "expires_at_0": "", "expires_at_1": ""},
    )
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None  # the fields are read-only
