"""Playwright driving Debian's Chromium (never a downloaded browser) against
pytest-django's live server, with a real Huey consumer doing the work."""

import copy
import json
import os
from pathlib import Path

import pytest

from tests.conftest import make_user
from tests.oidc_provider import OIDCProvider, ensure_installed
from zimage_site.sso import form_action_origins, socialaccount_providers

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed: run bin/ensure-chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)  # a busy 2-core CI machine can be slow
    # Playwright's sync API keeps an event loop running in this thread, which
    # makes Django refuse ORM calls from the test unless told it is safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield chromium
            chromium.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def signed_in(page, transactional_db):
    """alice, signed in through the real form, with 100 credits."""
    make_user("alice", credits_amount=100)
    page.goto("/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice")
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    return page


def screenshot(page, name: str) -> None:
    """Refresh docs/screenshots only when asked (UPDATE_SCREENSHOTS=1)."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


@pytest.fixture(scope="module")
def idp(live_server):
    ensure_installed()
    provider = OIDCProvider(live_server.url)
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def sso(idp, settings, transactional_db):
    """The site configured for the provider as the environment would: example.com
    may join by itself; the designers group maps to the Design team, it-admins to staff."""
    settings.SOCIALACCOUNT_PROVIDERS = socialaccount_providers(idp.environ())
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] += form_action_origins(settings.SOCIALACCOUNT_PROVIDERS)
    settings.CONTENT_SECURITY_POLICY = policy
    settings.OIDC_ALLOWED_DOMAINS = ["example.com"]
    settings.OIDC_GROUP_MAP = json.dumps({"designers": {"team": "Design"}, "it-admins": {"staff": True}})
    return idp
