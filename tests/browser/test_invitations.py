"""Inviting a colleague, in Debian's Chromium: a team admin sends the
invitation from the team page, the colleague opens the e-mailed link and
makes an account (with a password, or through the identity provider), and a
link used twice, expired or revoked is refused with a message that says so."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from generations.accounts import invitations
from generations.billing import ledger
from generations.models import AuditLog, Invitation, Team, TeamMembership
from tests.browser.test_sso import provider_login
from tests.conftest import make_user

pytestmark = pytest.mark.slow


@pytest.fixture
def design(transactional_db):
    """The Design team, 40 credits in its pool, alice its admin; newcomers get
    at most 2 images at a time."""
    team = Team.objects.create(name="Design", member_defaults={"max_concurrent": 2})
    ledger.grant(account=ledger.team_account(team), amount=40, note="pool")
    alice = make_user("alice", email="alice@example.com")
    TeamMembership.objects.create(user=alice, team=team, is_admin=True)
    return team


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def link_in(message) -> str:
    return re.search(r"https?://\S+/invite/\S+/", message.body).group(0)


def test_a_team_admin_invites_and_the_link_works_once(design, page, browser, live_server, mailoutbox):
    sign_in(page, "alice")
    page.goto("/staff/team/")
    page.fill("#id_email", "iv@elsewhere.org")
    page.click("text=Send invitation")
    expect(page.locator(".flash")).to_contain_text("Invitation sent to iv@elsewhere.org")
    expect(page.locator("#invitations tbody")).to_contain_text("iv@elsewhere.org")
    assert [m.to for m in mailoutbox] == [["iv@elsewhere.org"]]
    assert "Design" in mailoutbox[0].body and "7 days" in mailoutbox[0].body
    # The link points at the site (SITE_URL); the test opens it on the live server.
    path = "/invite/" + link_in(mailoutbox[0]).split("/invite/")[1]

    context = browser.new_context(base_url=live_server.url)
    colleague = context.new_page()
    colleague.goto(path)
    expect(colleague.locator("main")).to_contain_text("join the team Design")
    colleague.fill("#id_username", "ivy")
    colleague.fill("#id_password1", "a long enough passphrase 42")
    colleague.fill("#id_password2", "a long enough passphrase 42")
    colleague.click("text=Create my account")
    colleague.wait_for_url("**/")
    expect(colleague.locator("details.menu summary")).to_have_text("ivy")
    colleague.goto("/team/")
    expect(colleague.locator("#team-pool")).to_contain_text("40")
    ivy = get_user_model().objects.get(username="ivy")
    assert ivy.email == "iv@elsewhere.org"
    assert TeamMembership.objects.get(user=ivy).team == design
    assert ledger.account_for(ivy).max_concurrent == 2  # the team's member defaults
    assert {"invitation sent", "invitation accepted", "team join"} <= set(
        AuditLog.objects.values_list("action", flat=True)
    )
    context.close()

    # The same link a second time, in another browser: refused.
    page.goto(path)
    expect(page.locator("#invitation-error")).to_contain_text("already been used")
    assert get_user_model().objects.count() == 2
    # And it is no longer pending on the team page.
    page.goto("/staff/team/")
    expect(page.locator("#invitations tbody")).not_to_contain_text("iv@elsewhere.org")


def test_an_expired_or_revoked_invitation_is_refused(design, page, browser, live_server):
    alice = get_user_model().objects.get(username="alice")
    expired = invitations.invite(inviter=alice, email="old@elsewhere.org", team=design)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    page.goto(f"/invite/{invitations.token_for(expired)}/")
    expect(page.locator("#invitation-error")).to_contain_text("expired")
    expect(page.locator("#id_username")).to_have_count(0)

    revoked = invitations.invite(inviter=alice, email="gone@elsewhere.org", team=design)
    sign_in(page, "alice")
    page.goto("/staff/team/")
    page.locator("#invitations tr", has_text="gone@elsewhere.org").locator("text=Revoke").click()
    expect(page.locator(".flash")).to_contain_text("revoked")
    context = browser.new_context(base_url=live_server.url)
    other = context.new_page()
    other.goto(f"/invite/{invitations.token_for(revoked)}/")
    expect(other.locator("#invitation-error")).to_contain_text("revoked")
    other.goto("/invite/not-a-real-token/")
    expect(other.locator("#invitation-error")).to_contain_text("not valid")
    context.close()
    assert AuditLog.objects.filter(action="invitation revoked").count() == 1


def test_an_invitation_accepted_through_the_identity_provider(design, sso, page):
    """iv@elsewhere.org is outside the allowed domains: the invitation lets them in."""
    alice = get_user_model().objects.get(username="alice")
    invitation = invitations.invite(inviter=alice, email="iv@elsewhere.org", team=design)
    page.goto(f"/invite/{invitations.token_for(invitation)}/")
    page.click("text=Sign in with Test IdP")
    provider_login(page, "iv")
    page.wait_for_url(lambda url: url.endswith("/"))
    iv = get_user_model().objects.get(email="iv@elsewhere.org")
    assert TeamMembership.objects.get(user=iv).team == design
    invitation.refresh_from_db()
    assert invitation.accepted_by == iv
