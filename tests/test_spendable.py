"""What a team member can spend, shown the same everywhere: the header, the
price line, the credits page and the API (billing/spendable.py), and the
price line naming what would refuse a create before it is submitted."""

import pytest
from django.urls import reverse

from generations.api import tokens
from generations.billing import ledger, spendable
from generations.lifecycle import pipeline, services
from generations.models import CreditAccount, Team, TeamMembership
from tests.conftest import make_user

QUOTE = {"prompt": "a fox", "provider": "demo", "size": "1024x1024"}  # 2 credits


@pytest.fixture
def bob(db):
    """bob has no credits of his own; his team's pool has 248."""
    return make_user("bob")


@pytest.fixture
def team(bob):
    team = Team.objects.create(name="studio")
    TeamMembership.objects.create(team=team, user=bob)
    carol = make_user("carol")
    TeamMembership.objects.create(team=team, user=carol, is_admin=True)
    ledger.grant(account=ledger.team_account(team), amount=248, note="budget")
    return team


def make(user, prompt="a fox"):
    gen = services.generation_create(user=user, prompt=prompt, width=1024, height=1024, provider="demo")
    pipeline.generation_run(generation_id=gen.pk)
    return gen


def quote(client, user, **form):
    client.force_login(user)
    return client.post(reverse("generate_quote"), {**QUOTE, **form}).content.decode()


def test_a_member_sees_the_pool_in_the_header_and_the_price_line(client, bob, team):
    client.force_login(bob)
    page = client.get(reverse("home")).content.decode()
    assert '<span id="balance" class="balance-figure">248</span>' in page
    assert "(team pool 248 + own 0)" in page
    line = quote(client, bob)
    assert "Costs 2 credits" in line and "balance after: 246" in line
    assert "paid from your team's pool" in line and "error" not in line


def test_the_draw_order_decides_which_source_is_shown_first_and_pays(client, bob, team):
    ledger.grant(user=bob, amount=10, note="own")
    team.draw_order = Team.DrawOrder.OWN_FIRST
    team.save()
    wallet = spendable.spendable_for(bob)
    assert [(s.is_pool, s.available) for s in wallet.sources] == [(False, 10), (True, 248)]
    assert wallet.available == 258 and not wallet.payer(2).is_pool and wallet.payer(11).is_pool
    client.force_login(bob)
    assert "(own 10 + team pool 248)" in client.get(reverse("home")).content.decode()
    assert "paid from your team" not in quote(client, bob)


def test_a_frozen_pool_is_not_counted_and_the_line_says_whom_to_ask(client, bob, team):
    CreditAccount.objects.filter(team=team).update(frozen=True)
    client.force_login(bob)
    page = client.get(reverse("home")).content.decode()
    assert '"balance-figure">0<' in page and "team pool frozen" in page
    line = quote(client, bob)
    assert '<span class="error">only 0 available</span>' in line
    assert "Ask your team admin (carol) for more credits" in line
    assert reverse("credits") + "#request-credits" in line


def test_a_user_without_a_team_is_told_to_ask_a_site_admin(client, bob):
    line = quote(client, bob)
    assert "only 0 available" in line and "Ask a site admin for more credits" in line


@pytest.mark.parametrize(
    ("limits", "said"),
    [
        ({"frozen": True}, "Your account is frozen by an admin"),
        ({"period_limit": 3}, "above your limit of 3 credits"),
        ({"max_per_minute": 1}, "try again in"),
        ({"allowed_providers": ["dashscope"]}, "may not use demo"),
    ],
)
def test_the_price_line_names_a_limit_before_anything_is_submitted(client, owner, limits, said):
    make(owner)  # 2 credits spent this month, one image this minute
    CreditAccount.objects.filter(user=owner).update(**limits)
    line = quote(client, owner)
    assert "Costs 2 credits" in line and said in line and 'class="error"' in line
    assert "balance after" not in line


def test_the_credits_page_lists_pool_entries_the_member_caused_and_no_one_elses(client, bob, team):
    dave = make_user("dave")
    TeamMembership.objects.create(team=team, user=dave)
    make(bob, prompt="bob's own fox")
    make(dave, prompt="dave's cat")
    ledger.grant(user=bob, amount=5, note="welcome gift")  # on his own account, no image
    client.force_login(bob)
    page = client.get(reverse("credits")).content.decode()
    assert '<dd id="available">249</dd>' in page and '<dd id="available-pool">244</dd>' in page
    assert "bob&#x27;s own fox" in page and "welcome gift" in page and "dave" not in page
    assert "No entries yet" not in page and "Team pool" in page


def test_the_api_shows_the_pool_in_me_the_ledger_and_the_quote(client, bob, team):
    make(bob)
    _, raw = tokens.api_token_create(user=bob, name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    me = client.get("/api/v1/me/", **auth).json()
    assert me["balance"] == 246 and me["sources"] == [
        {"account": "team_pool", "team": "studio", "balance": 246, "held": 0, "usable": True},
        {"account": "own", "team": None, "balance": 0, "held": 0, "usable": True},
    ]
    entries = client.get("/api/v1/credits/entries/", **auth).json()["results"]
    assert {(e["account"], e["kind"]) for e in entries} == {("team_pool", "hold"), ("team_pool", "capture")}
    body = {"prompt": "a fox", "size": "1024x1024", "provider": "demo"}
    answer = client.post("/api/v1/quote/", body, content_type="application/json", **auth).json()
    assert (answer["balance"], answer["affordable"], answer["problem"]) == (246, True, "")
