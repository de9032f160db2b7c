"""Joining without a browser: the providers read from the environment, the
group mapping, invitations' rules, PASSWORD_LOGIN=0 and password reset."""

import json
import re
import threading

import pytest
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from generations.accounts import invitations, membership
from generations.models import AuditLog, CreditAccount, GroupMapping, Invitation, Team, TeamMembership
from tests.conftest import make_user
from zimage_site.sso import SSOConfigError, form_action_origins, socialaccount_providers

KEYCLOAK = {
    "OIDC_PROVIDERS": "keycloak, entra",
    "OIDC_KEYCLOAK_NAME": "Company login",
    "OIDC_KEYCLOAK_ISSUER": "https://sso.example.com/realms/staff/",
    "OIDC_KEYCLOAK_CLIENT_ID": "z-image",
    "OIDC_KEYCLOAK_CLIENT_SECRET": "s3cret",
    "OIDC_KEYCLOAK_GROUPS_CLAIM": "roles",
    "OIDC_ENTRA_ISSUER": "https://login.microsoftonline.com/tenant-id/v2.0",
    "OIDC_ENTRA_CLIENT_ID": "app-id",
}


def test_several_providers_come_from_the_environment():
    apps = socialaccount_providers(KEYCLOAK)["openid_connect"]["APPS"]
    assert [a["provider_id"] for a in apps] == ["keycloak", "entra"]
    keycloak, entra = apps
    assert keycloak["name"] == "Company login" and entra["name"] == "entra"
    assert keycloak["settings"]["server_url"] == "https://sso.example.com/realms/staff"
    assert keycloak["settings"]["groups_claim"] == "roles" and entra["settings"]["groups_claim"] == "groups"
    assert entra["settings"]["scope"] == ["openid", "email", "profile"]
    assert all(a["settings"]["oauth_pkce_enabled"] for a in apps)
    assert form_action_origins(socialaccount_providers(KEYCLOAK)) == [
        "https://sso.example.com",
        "https://login.microsoftonline.com",
    ]


def test_a_provider_missing_its_issuer_names_the_variable():
    env = {k: v for k, v in KEYCLOAK.items() if k != "OIDC_ENTRA_ISSUER"}
    with pytest.raises(SSOConfigError, match="OIDC_ENTRA_ISSUER is not set"):
        socialaccount_providers(env)
    with pytest.raises(SSOConfigError, match="not a usable id"):
        socialaccount_providers({"OIDC_PROVIDERS": "Bad Id"})


def test_without_providers_the_sign_in_page_has_no_buttons(client, db):
    page = client.get(reverse("login")).content.decode()
    assert 'name="password"' in page and "Sign in with" not in page


def test_the_sign_in_page_offers_each_provider(client, db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = socialaccount_providers(KEYCLOAK)
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with Company login" in page and "Sign in with entra" in page
    assert 'action="/accounts/oidc/keycloak/login/"' in page


def test_a_malformed_group_map_says_what_is_wrong(settings):
    with pytest.raises(membership.GroupMapError, match="not valid JSON"):
        membership.env_group_map("{designers: Design}")
    with pytest.raises(membership.GroupMapError, match="designers"):
        membership.env_group_map(json.dumps({"designers": "Design"}))


def test_a_malformed_group_map_stops_the_start_with_its_reason(settings):
    from generations.accounts.checks import group_map_readable

    settings.OIDC_GROUP_MAP = "{oops"
    [error] = group_map_readable()
    assert error.id == "generations.E023" and "OIDC_GROUP_MAP is not valid JSON" in error.msg
    settings.OIDC_GROUP_MAP = json.dumps({"design": {"team": "Design"}})
    assert group_map_readable() == []


def test_groups_map_to_team_admin_and_staff_and_are_re_evaluated(db, settings):
    settings.OIDC_GROUP_MAP = json.dumps({"design": {"team": "Design"}, "ops": {"staff": True}})
    design = Team.objects.create(name="Design", member_defaults={"period_limit": 300})
    GroupMapping.objects.create(group="design-leads", team=design, team_admin=True)
    user = make_user("ada")
    membership.apply_groups(user=user, groups=["design", "design-leads", "ops"], provider="kc")
    member = TeamMembership.objects.get(user=user)
    assert (member.team, member.is_admin, user.is_staff) == (design, True, True)
    assert CreditAccount.objects.get(user=user).period_limit == 300
    membership.apply_groups(user=user, groups=["design"], provider="kc")
    member.refresh_from_db()
    user.refresh_from_db()
    assert (member.is_admin, user.is_staff) == (False, False)
    membership.apply_groups(user=user, groups=[], provider="kc")
    assert not TeamMembership.objects.filter(user=user).exists()
    actions = list(AuditLog.objects.order_by("pk").values_list("action", flat=True))
    assert actions == [
        "team join",
        "team defaults",
        "staff granted",
        "team role",
        "staff removed",
        "team leave",
    ]
    assert all("kc" in r for r in AuditLog.objects.values_list("reason", flat=True))


def test_a_superuser_keeps_staff_whatever_the_groups(db, settings):
    settings.OIDC_GROUP_MAP = json.dumps({"ops": {"staff": True}})
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    membership.apply_groups(user=boss, groups=[], provider="kc")
    boss.refresh_from_db()
    assert boss.is_staff


@pytest.fixture
def team_admin(db):
    team = Team.objects.create(name="Design")
    user = make_user("alice", email="alice@example.com")
    TeamMembership.objects.create(user=user, team=team, is_admin=True)
    return user


def test_only_a_teams_admins_or_staff_invite_to_it(team_admin, client):
    other_team = Team.objects.create(name="Sales")
    with pytest.raises(invitations.InvitationError, match="Only staff or the team's admins"):
        invitations.invite(inviter=team_admin, email="x@example.com", team=other_team)
    member = make_user("bob")
    TeamMembership.objects.create(user=member, team=team_admin.team_membership.team)
    client.force_login(member)
    assert client.post(reverse("team_invite"), {"email": "x@example.com"}).status_code == 404
    assert not Invitation.objects.exists()


def test_an_address_with_an_account_or_a_pending_invitation_is_not_invited_again(team_admin):
    team = team_admin.team_membership.team
    with pytest.raises(invitations.InvitationError, match="already has an account"):
        invitations.invite(inviter=team_admin, email="ALICE@example.com", team=team)
    invitations.invite(inviter=team_admin, email="new@example.com", team=team)
    with pytest.raises(invitations.InvitationError, match="pending invitation"):
        invitations.invite(inviter=team_admin, email="new@example.com", team=team)


def test_another_teams_admin_cannot_revoke_or_see_an_invitation(team_admin, client):
    invitation = invitations.invite(
        inviter=team_admin, email="new@example.com", team=team_admin.team_membership.team
    )
    stranger = make_user("mallory")
    TeamMembership.objects.create(user=stranger, team=Team.objects.create(name="Sales"), is_admin=True)
    client.force_login(stranger)
    assert client.post(reverse("invitation_revoke", args=[invitation.pk])).status_code == 404
    assert "new@example.com" not in client.get(reverse("staff_team")).content.decode()
    invitation.refresh_from_db()
    assert invitation.state == "pending"


def test_an_invitation_is_used_once(team_admin):
    invitation = invitations.invite(
        inviter=team_admin, email="new@example.com", team=team_admin.team_membership.team
    )
    invitations.accept(invitation_id=invitation.pk, user=make_user("new"))
    with pytest.raises(invitations.InvitationError, match="already been used"):
        invitations.accept(invitation_id=invitation.pk, user=make_user("second"))
    with pytest.raises(invitations.InvitationError, match="already been used"):
        invitations.usable(invitations.token_for(invitation))
    assert TeamMembership.objects.filter(user__username="second").count() == 0


def test_with_password_login_off_no_password_gets_in(client, db, settings):
    make_user("alice")
    settings.PASSWORD_LOGIN = False
    page = client.get(reverse("login")).content.decode()
    assert 'name="password"' not in page and "No identity provider is configured" in page
    client.post(reverse("login"), {"username": "alice", "password": "pw-alice"})
    assert "_auth_user_id" not in client.session
    assert authenticate(username="alice", password="pw-alice") is None
    assert client.get(reverse("password_reset")).status_code == 404
    admin_login = client.get("/admin/login/?next=/admin/generations/")
    assert admin_login["Location"] == "/accounts/login/?next=%2Fadmin%2Fgenerations%2F"
    settings.PASSWORD_LOGIN = True
    assert b'name="password"' in client.get("/admin/login/").content
    client.post(reverse("login"), {"username": "alice", "password": "pw-alice"})
    assert "_auth_user_id" in client.session


def test_password_reset_answers_the_same_and_the_link_works_once(client, db, mailoutbox):
    make_user("alice", email="alice@example.com")
    known = client.post(reverse("password_reset"), {"email": "alice@example.com"})
    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("password_reset_done")
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", mailoutbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and b'name="new_password1"' in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
    )
    assert done.status_code == 302
    user = get_user_model().objects.get(username="alice")
    assert user.check_password("a brand new passphrase")
    again = client.get(link, follow=True)
    assert b"not valid any more" in again.content


def test_password_reset_is_rate_limited(db, settings, mailoutbox):
    """Per client address (429, saying so) and per address (the same answer, no mail).
    Addresses of their own: the counters live in the cache for the hour."""
    settings.PASSWORD_RESET_PER_ADDRESS_HOUR = 2
    settings.PASSWORD_RESET_PER_IP_HOUR = 4
    make_user("carol", email="carol@example.com")
    client = Client(REMOTE_ADDR="10.7.7.7")
    ask = {"email": "carol@example.com"}
    answers = [client.post(reverse("password_reset"), ask).status_code for _ in range(5)]
    assert answers == [302, 302, 302, 302, 429]
    assert len(mailoutbox) == 2  # the third and fourth were answered the same, and not sent
    limited = client.post(reverse("password_reset"), ask)
    assert "Too many password reset requests" in limited.content.decode()
    elsewhere = Client(REMOTE_ADDR="10.7.7.8")
    assert elsewhere.post(reverse("password_reset"), {"email": "x@example.com"}).status_code == 302


def test_an_expired_invitation_says_so_in_simplified_chinese(team_admin, client):
    invitation = invitations.invite(
        inviter=team_admin, email="new@example.com", team=team_admin.team_membership.team
    )
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=invitation.created_at)
    page = client.get(
        reverse("invitation_accept", args=[invitations.token_for(invitation)]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert page.status_code == 410
    assert "此邀请已过期，请索取新的邀请。" in page.content.decode()


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_racing_acceptances_of_one_invitation_make_one_account():
    """Two tabs posting the same invitation at once: the row lock lets one in."""
    team = Team.objects.create(name="Design")
    admin = make_user("alice", email="alice@example.com")
    TeamMembership.objects.create(user=admin, team=team, is_admin=True)
    invitation = invitations.invite(inviter=admin, email="new@example.com", team=team)
    barrier, outcomes = threading.Barrier(2), []

    def take(username):
        barrier.wait()
        try:
            with transaction.atomic():
                invitations.accept(invitation_id=invitation.pk, user=make_user(username))
            outcomes.append("won")
        except invitations.InvitationError:
            outcomes.append("lost")
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(name,)) for name in ("tab1", "tab2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert TeamMembership.objects.filter(team=team, is_admin=False).count() == 1


def test_allauths_pages_render_in_the_sites_layout(client, db, settings):
    """Reached by GET, the provider's sign-in asks to confirm with a POST (no
    sign-in from a mere link); a callback with no state is a failure page."""
    settings.SOCIALACCOUNT_PROVIDERS = socialaccount_providers(KEYCLOAK)
    confirm = client.get("/accounts/oidc/keycloak/login/")
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Company login" in page and 'method="post"' in page and "Z-Image Studio" in page
    failure = client.get("/accounts/oidc/keycloak/login/callback/?code=x&state=unknown")
    assert "Third-Party Login Failure" in failure.content.decode()
    assert "_auth_user_id" not in client.session
