"""A team member in a real browser: the pool that pays for them in the header
and the price line, a credit request, and its approval by the team admin."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from generations.billing import ledger
from generations.lifecycle import services
from generations.models import CreditAccount, Generation, Team, TeamMembership
from tests.browser.conftest import screenshot
from tests.conftest import make_user

pytestmark = pytest.mark.slow


def sign_in(browser, live_server, username):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    return page


@pytest.fixture
def team(transactional_db):
    """bob has no credits of his own; his team's pool has 248; carol is its admin."""
    team = Team.objects.create(name="studio")
    for name, is_admin in (("bob", False), ("carol", True)):
        TeamMembership.objects.create(team=team, user=make_user(name), is_admin=is_admin)
    ledger.grant(account=ledger.team_account(team), amount=248, note="budget")
    return team


def test_a_member_spends_the_pool_and_the_team_admin_approves_a_request(browser, live_server, team, consumer):
    consumer()
    bob = sign_in(browser, live_server, "bob")
    expect(bob.locator("#balance")).to_have_text("248")
    expect(bob.locator("#balance-parts")).to_have_text("(team pool 248 + own 0)")
    bob.fill("#id_prompt", "a lighthouse at dusk")
    quote = bob.locator("#quote")
    expect(quote).to_contain_text("balance after: 246")
    expect(quote).to_contain_text("paid from your team's pool")
    expect(quote.locator(".error")).to_have_count(0)  # not red
    bob.press("#id_prompt", "Control+Enter")
    expect(bob.locator("#recent .gen").first).to_have_class("gen status-succeeded", timeout=30_000)
    expect(bob.locator("#balance")).to_have_text("246")
    screenshot(bob, "team-member")

    bob.click("nav >> text=Credits")
    expect(bob.locator("#available")).to_have_text("246")
    bob.fill("#id_amount", "40")
    bob.fill("#id_reason", "posters for the client")
    bob.click("#request-credits button[type=submit]")
    expect(bob.locator(".flash.success")).to_contain_text("Request sent")
    expect(bob.locator("#my-requests")).to_contain_text("Waiting for an answer")
    screenshot(bob, "credits-team-member")

    carol = sign_in(browser, live_server, "carol")
    carol.click("summary >> text=carol")
    carol.click("text=Credit requests")
    row = carol.locator("#pending-requests tbody tr", has_text="posters for the client")
    expect(row).to_contain_text("bob")
    screenshot(carol, "credit-requests")
    row.locator("button", has_text="Approve").click()
    expect(carol.locator(".flash.success")).to_contain_text("Approved: 40 credits to bob.")
    expect(carol.locator("#pending-requests")).to_contain_text("No requests waiting.")

    bob.goto("/gallery/")
    notice = bob.locator(".credit-notice")
    expect(notice).to_contain_text("Your request for 40 credits was approved by carol.")
    expect(bob.locator("#balance")).to_have_text("246")  # 206 in the pool + 40 of his own
    expect(bob.locator("#balance-parts")).to_have_text("(team pool 206 + own 40)")


def test_the_price_line_shows_the_per_minute_wait_and_clears_it_by_itself(signed_in):
    page = signed_in
    alice = get_user_model().objects.get(username="alice")
    CreditAccount.objects.filter(user=alice).update(max_per_minute=1)
    made = services.generation_create(user=alice, prompt="a fox", width=1024, height=1024, provider="demo")
    Generation.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(seconds=57))
    page.reload()
    quote = page.locator("#quote")
    expect(quote.locator(".error")).to_contain_text("try again in")  # before anything is submitted
    expect(quote).to_contain_text("balance after: 96", timeout=15_000)  # the wait passed: it looked again
    expect(quote.locator(".error")).to_have_count(0)
