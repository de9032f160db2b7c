"""The Content-Security-Policy refuses nothing the site's own pages need."""

import pytest
from playwright.sync_api import expect

from tests.conftest import make_user

pytestmark = pytest.mark.slow


@pytest.fixture
def refusals(page):
    """CSP violations the browser reports while the test runs."""
    found = []
    page.on("console", lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None)
    return found


def test_the_dashboard_and_language_menu_run_under_the_policy(signed_in, refusals):
    page = signed_in
    page.fill("#id_prompt", "a fox")
    expect(page.locator("#prompt-count")).to_have_text("5")  # studio.js runs
    expect(page.locator("#quote")).to_contain_text("credits")  # htmx runs
    page.select_option("#language", "zh-hans")  # submitted by studio.js, not an inline handler
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert refusals == []


def test_the_api_docs_run_from_the_site_under_the_policy(page, refusals, live_server, transactional_db):
    outside = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((live_server.url + "/", "data:")) else outside.append(r.url),
    )
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Z-Image Studio API")
    assert refusals == [] and outside == []


def test_the_admin_runs_under_the_policy(page, refusals, transactional_db):
    make_user("root", is_staff=True, is_superuser=True)
    page.goto("/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-root")
    page.click("input[type=submit]")
    page.goto("/admin/generations/generation/")
    expect(page.locator("#changelist")).to_be_visible()
    page.goto("/admin/auth/user/add/")
    expect(page.locator("#user_form")).to_be_visible()
    assert refusals == []
