"""A team admin sets members' limits only within what a site admin set, and
never their own or another team admin's (issue 18, finding 2)."""

import pytest
from django.urls import reverse

from generations.billing import ledger
from generations.models import CreditAccount, Team, TeamMembership
from tests.conftest import make_user

LIMITS = ("max_concurrent", "max_per_minute", "period_limit")


@pytest.fixture
def team(owner, other):
    """alice administers the team, capped by a site admin at 1 at once, 1 a
    minute and 10 credits a month; bob is a member."""
    team = Team.objects.create(name="studio")
    TeamMembership.objects.create(team=team, user=owner, is_admin=True)
    TeamMembership.objects.create(team=team, user=other)
    ledger.team_account(team)
    CreditAccount.objects.filter(pk=ledger.account_for(owner).pk).update(
        max_concurrent=1, max_per_minute=1, period_limit=10
    )
    return team


def post_limits(client, user, *limits, reason="x"):
    data = {"account": ledger.account_for(user).pk, "reason": reason}
    return client.post(reverse("staff_team"), {**data, **dict(zip(LIMITS, map(str, limits), strict=True))})


def limits_of(user):
    account = ledger.account_for(user)
    return tuple(getattr(account, name) for name in LIMITS)


def test_a_team_admin_cannot_lift_their_own_limits(client, owner, team):
    client.force_login(owner)
    page = post_limits(client, owner, 0, 0, 0)
    assert page.status_code == 200
    assert "You cannot change your own limits" in page.content.decode()
    assert limits_of(owner) == (1, 1, 10)
    assert post_limits(client, owner, 1, 1, 5).status_code == 200  # not even lower
    assert limits_of(owner) == (1, 1, 10)


def test_a_member_gets_no_more_than_the_team_admin_was_allowed(client, owner, other, team):
    client.force_login(owner)
    page = post_limits(client, other, 0, 0, 0)  # "no limit" is beyond every cap
    text = page.content.decode()
    assert "Generations at once: at most 1" in text and "Credits per month: at most 10" in text
    assert limits_of(other) == (0, 0, 0)
    post_limits(client, other, 2, 1, 10)
    post_limits(client, other, 1, 1, 11)
    assert limits_of(other) == (0, 0, 0)
    assert post_limits(client, other, 1, 1, 10).status_code == 302
    assert limits_of(other) == (1, 1, 10)


def test_the_team_allowance_caps_spending_below_the_admins_own_cap(client, owner, other, team):
    CreditAccount.objects.filter(team=team).update(monthly_allowance=5)
    client.force_login(owner)
    page = post_limits(client, other, 1, 1, 10)
    assert "at most 5, the team&#x27;s monthly allowance" in page.content.decode()
    assert post_limits(client, other, 1, 1, 5).status_code == 302
    assert limits_of(other) == (1, 1, 5)


def test_another_team_admins_limits_are_the_site_admins(client, owner, team):
    carol = make_user("carol")
    TeamMembership.objects.create(team=team, user=carol, is_admin=True)
    client.force_login(owner)
    page = client.get(reverse("staff_team"))
    assert page.content.decode().count('name="account"') == 1  # bob's form only
    assert "is a team admin" in post_limits(client, carol, 1, 1, 1).content.decode()
    assert limits_of(carol) == (0, 0, 0)


def test_an_uncapped_team_admin_may_leave_a_member_unlimited(client, owner, other, team):
    CreditAccount.objects.filter(user=owner).update(max_concurrent=0, max_per_minute=0, period_limit=0)
    client.force_login(owner)
    post_limits(client, other, 3, 3, 30)
    assert post_limits(client, other, 0, 0, 0).status_code == 302
    assert limits_of(other) == (0, 0, 0)


def test_the_errors_are_translated(client, owner, other, team):
    client.force_login(owner)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    own = post_limits(client, owner, 0, 0, 0, reason="x").content.decode()
    member = post_limits(client, other, 0, 0, 0).content.decode()
    assert "你不能修改自己的限额" in own
    assert "同时生成数：最多 1" in member


def test_a_team_admin_stays_within_what_a_site_admin_set_on_the_member(
    client, owner, other, team, admin_user
):
    """bob capped in the admin at 1 at once, 1 a minute, 10 a month: his
    (uncapped) team admin may tighten that, never lift it."""
    CreditAccount.objects.filter(user=owner).update(max_concurrent=0, max_per_minute=0, period_limit=0)
    bob = ledger.account_for(other)
    client.force_login(admin_user)
    page = client.post(
        f"/admin/generations/creditaccount/{bob.pk}/change/",
        {
            "max_concurrent": 1,
            "max_per_minute": 1,
            "period_limit": 10,
            "low_balance_threshold": "",
            "reason": "cap bob",
            "entries-TOTAL_FORMS": "0",
            "entries-INITIAL_FORMS": "0",
        },
    )
    assert page.status_code == 302
    client.force_login(owner)
    assert post_limits(client, other, 0, 0, 0).status_code == 200  # refused
    assert post_limits(client, other, 2, 2, 20).status_code == 200  # above the site admin's
    assert limits_of(other) == (1, 1, 10)
    assert post_limits(client, other, 1, 1, 5).status_code == 302  # tighter is fine
    assert post_limits(client, other, 1, 1, 10).status_code == 302  # and back to the cap
    assert limits_of(other) == (1, 1, 10)
