"""Staff in a real browser: from the banner to the setup checklist, and a
provider test that makes one image and shows it."""

import pytest
from playwright.sync_api import expect

from generations.models import Generation
from tests.browser.conftest import screenshot
from tests.conftest import make_user

pytestmark = pytest.mark.slow


def test_staff_follow_the_banner_to_the_checklist_and_test_the_demo(page, transactional_db):
    make_user("root", credits_amount=20, is_staff=True, is_superuser=True)
    page.goto("/accounts/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-root")
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    banner = page.locator("#setup-banner")
    expect(banner).to_be_visible()
    banner.get_by_role("link").click()
    page.wait_for_url("**/staff/setup/")
    expect(page.locator("#only-demo")).to_be_visible()
    dashscope = page.locator("#provider-dashscope")
    expect(dashscope).to_contain_text("DASHSCOPE_API_KEY")
    expect(dashscope.get_by_role("button", name="Test this provider")).to_be_disabled()
    demo = page.locator("#provider-demo")
    demo.get_by_role("button", name="Test this provider").click()
    page.wait_for_url("**/staff/setup/?tested=*")
    image = page.locator("#provider-demo .test-result img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    gen = Generation.objects.get()
    assert (gen.provider, gen.status) == ("demo", "succeeded")
    screenshot(page, "setup-checklist")
