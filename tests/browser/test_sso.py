"""Single sign-on against a real OpenID Connect provider (oidc-provider on
Node.js, tests/oidc), in Debian's Chromium: the provider's own login and
consent pages, the authorization code flow with PKCE, state and nonce, and
the site's rules about who may come in."""

import html
import json
import re
from urllib.parse import parse_qs, urlencode, urljoin, urlparse, urlunparse

import pytest
import requests
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from generations.billing import ledger
from generations.models import AuditLog, Team, TeamMembership

pytestmark = pytest.mark.slow


def provider_login(page, login: str) -> None:
    """At the provider's own pages: its login form, then its consent page."""
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password: the provider's dev login")
    page.click("button[type=submit]")
    page.wait_for_selector("button[type=submit]")
    page.click("button[type=submit]")  # consent


def start_sign_in(page) -> None:
    page.goto("/accounts/login/")
    page.click("text=Sign in with Test IdP")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def signed_in_as(page) -> str:
    """The username in the header's menu, or '' on the sign-in page."""
    page.goto("/")
    if "/accounts/login/" in page.url:
        return ""
    return page.locator("details.menu summary").inner_text()


def test_sign_in_at_the_provider_lands_on_the_dashboard_with_the_teams_pool(sso, page):
    design = Team.objects.create(name="Design")
    ledger.grant(account=ledger.team_account(design), amount=50, note="pool")
    start_sign_in(page)
    assert page.url.startswith(sso.issuer)  # the provider's own login page
    provider_login(page, "ada")
    page.wait_for_url(lambda url: urlparse(url).path == "/")
    expect(page.locator("h1")).to_have_text("Generate")
    ada = get_user_model().objects.get(email="ada@example.com")
    assert TeamMembership.objects.get(user=ada).team == design
    assert AuditLog.objects.filter(action="team join", reason__contains="designers").exists()
    page.click("nav >> text=Team")
    expect(page.locator("#team-pool")).to_contain_text("Design")
    expect(page.locator("#team-pool")).to_contain_text("50")

    # Sign-out ends the site's session and the provider's (its end-session page).
    page.click("details.menu summary")
    requests_seen = []
    page.on("request", lambda request: requests_seen.append(request.url))
    page.click("text=Sign out")
    page.wait_for_url(f"{sso.issuer}/**")
    end_session = next(url for url in requests_seen if url.startswith(f"{sso.issuer}/session/end"))
    assert "id_token_hint=" in end_session  # the ID token from the sign-in, which Okta requires
    page.click("button[autofocus], button[type=submit]")  # the provider asks to confirm
    page.wait_for_url("**/accounts/login/**")
    assert signed_in_as(page) == ""
    start_sign_in(page)  # the provider asks again: its session is over too
    page.wait_for_selector("input[name=login]")


def test_the_group_claim_is_mapped_again_at_every_sign_in(sso, page, browser, live_server, settings):
    settings.PASSWORD_LOGIN = False  # SSO only: the sign-in page has the button alone
    page.goto("/accounts/login/")
    expect(page.locator("#id_password")).to_have_count(0)
    start_sign_in(page)
    provider_login(page, "cy")
    page.wait_for_url(lambda url: urlparse(url).path == "/")
    cy = get_user_model().objects.get(email="cy@example.com")
    assert cy.is_staff and not cy.is_superuser
    assert AuditLog.objects.filter(action="staff granted", object_id=str(cy.pk)).exists()
    # The provider stops listing it-admins: the next sign-in takes staff away.
    settings.OIDC_GROUP_MAP = json.dumps({"designers": {"team": "Design"}, "other-admins": {"staff": True}})
    context = browser.new_context(base_url=live_server.url)
    again = context.new_page()
    start_sign_in(again)
    provider_login(again, "cy")
    again.wait_for_url(lambda url: urlparse(url).path == "/")
    context.close()
    cy.refresh_from_db()
    assert not cy.is_staff
    assert AuditLog.objects.filter(action="staff removed", object_id=str(cy.pk)).exists()


def authorization_url(page, issuer: str) -> str:
    """Start a sign-in in the browser; the URL it was sent to at the provider
    (with this browser's state, nonce and PKCE challenge)."""
    seen = []
    page.on("request", lambda request: seen.append(request.url))
    start_sign_in(page)
    return next(url for url in seen if url.startswith(f"{issuer}/auth?"))


def answer_at_provider(auth_url: str, login: str = "ada") -> str:
    """Go through the provider's own login and consent pages over HTTP, the
    way the browser would, and return where it sends the browser back (the
    site's callback with a fresh code and the state), without going there."""
    session = requests.Session()
    url, data = auth_url, None
    for _ in range(12):
        response = session.request("POST" if data else "GET", url, data=data, allow_redirects=False)
        if response.is_redirect:
            url, data = urljoin(url, response.headers["Location"]), None
            if "/login/callback/" in url:
                return url
            continue
        form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
        prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
        assert form and prompt, response.text[:500]
        url = urljoin(url, html.unescape(form.group(1)))
        data = {"prompt": prompt.group(1), "login": login, "password": "any"}
    raise AssertionError("the provider never sent the browser back to the site")


def with_params(url: str, **params) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return urlunparse(parts._replace(query=urlencode({**query, **params})))


def refused(page) -> None:
    expect(page.locator("body")).to_contain_text("Third-Party Login Failure")


def test_a_wrong_state_or_a_replayed_callback_or_code_is_refused(sso, page, browser, live_server):
    callback = answer_at_provider(authorization_url(page, sso.issuer))
    page.goto(with_params(callback, state="forged-state"))
    refused(page)
    assert signed_in_as(page) == ""
    assert not get_user_model().objects.filter(email="ada@example.com").exists()

    # The untouched answer still works (it was the state that was refused) ...
    page.goto(callback)
    page.wait_for_url(lambda url: urlparse(url).path == "/")
    assert signed_in_as(page) == "ada"
    # ... once: the same callback again finds its state used up.
    context = browser.new_context(base_url=live_server.url)
    other = context.new_page()
    other.goto(callback)
    refused(other)
    # And the used code, under a fresh state of this browser's own, is refused by the provider.
    state = parse_qs(urlparse(authorization_url(other, sso.issuer)).query)["state"][0]
    other.goto(with_params(callback, state=state))
    refused(other)
    assert signed_in_as(other) == ""
    context.close()


def test_an_id_token_without_the_requests_nonce_is_refused(sso, page):
    auth_url = authorization_url(page, sso.issuer)
    page.goto(answer_at_provider(with_params(auth_url, nonce="not-the-one-the-site-sent")))
    expect(page.locator("#refusal")).to_contain_text("did not match this browser's request")
    assert not get_user_model().objects.filter(email="ada@example.com").exists()


def test_someone_outside_the_allowed_domains_without_invitation_is_refused(sso, page):
    start_sign_in(page)
    provider_login(page, "bo")
    expect(page.locator("#refusal")).to_contain_text("bo@elsewhere.org has no account here")
    expect(page.locator("#refusal")).to_contain_text("Ask a team admin for an invitation")
    assert not get_user_model().objects.filter(email="bo@elsewhere.org").exists()
    assert signed_in_as(page) == ""
