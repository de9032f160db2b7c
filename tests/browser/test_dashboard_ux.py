"""The gallery's viewer, bulk actions and the trash, in a real browser."""

import re
import zipfile

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from generations.lifecycle import pipeline, services
from generations.models import Generation
from tests.browser.conftest import screenshot
from tests.conftest import make_user

pytestmark = pytest.mark.slow


def images(username: str, *prompts: str) -> list[Generation]:
    """Finished demo images of `username`, oldest first (the gallery shows them newest first)."""
    user = get_user_model().objects.get(username=username)
    made = []
    for prompt in prompts:
        g = services.generation_create(
            user=user, prompt=prompt, width=512, height=512, provider="demo", seed=3
        )
        pipeline.generation_run(generation_id=g.pk)
        made.append(g)
    return made


def test_the_viewer_steps_with_the_keys_and_its_url_is_shareable(signed_in):
    page = signed_in
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    cat, fox, dog = images("alice", "a cat", "a fox", "a dog")
    page.goto("/gallery/")
    page.click(f"#gen-{fox.pk} a.thumb")
    expect(page.locator(".viewer-prompt")).to_have_text("a fox")
    screenshot(page, "viewer")
    page.keyboard.press("ArrowRight")
    expect(page.locator(".viewer-prompt")).to_have_text("a cat")
    page.keyboard.press("ArrowLeft")
    expect(page.locator(".viewer-prompt")).to_have_text("a fox")
    page.keyboard.press("ArrowLeft")
    expect(page.locator(".viewer-prompt")).to_have_text("a dog")
    shared = page.url
    with page.expect_download() as download:
        page.keyboard.press("d")
    assert download.value.suggested_filename == f"{dog.pk}.png"
    page.keyboard.press("r")  # remix: the form, filled in
    expect(page.locator("#id_prompt")).to_have_value("a dog")
    page.goto(shared)  # the URL opens the same place again
    expect(page.locator(".viewer-prompt")).to_have_text("a dog")
    page.keyboard.press("Delete")
    expect(page.locator(".viewer-prompt")).to_have_text("a fox")
    expect(page.locator(".viewer .flash")).to_contain_text("Moved to the trash")
    assert Generation.objects.get(pk=dog.pk).deleted_at is not None
    expect(page.locator("[data-key=prev]")).to_have_count(0)  # the dog is gone from the list
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/gallery/$"))
    expect(page.locator("#gallery .gen")).to_have_count(2)
    assert refused == []  # the keys run from studio.js, under the policy


def tick(page, g, **kw):
    page.locator(f'input[name=ids][value="{g.pk}"]').click(**kw)


def test_bulk_select_with_shift_click_and_download_the_selection_as_one_zip(signed_in):
    page = signed_in
    one, two, three, four = images("alice", "one", "two", "three", "four")
    page.goto("/gallery/")
    tick(page, four)  # the gallery is newest first: four, three, two, one
    tick(page, two, modifiers=["Shift"])  # the range four..two
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    screenshot(page, "gallery-bulk")
    with page.expect_download() as download:
        page.click("#bulk button[value=zip]")
    with zipfile.ZipFile(download.value.path()) as archive:
        assert sorted(archive.namelist()) == sorted(f"{g.pk}.png" for g in (two, three, four))
        assert archive.testzip() is None
    page.click("[data-select-all]")
    expect(page.locator("#bulk-count")).to_have_text("4 selected")
    tick(page, three)
    page.fill("#id_bulk_tags", "batch")
    page.click("#bulk button[value=tag]")
    expect(page.locator(".flash")).to_have_text("Tagged 3 images.")
    assert not three.tags.exists() and one.tags.get().name == "batch"


@pytest.fixture
def phone(browser, live_server, transactional_db):
    """A phone-sized page, signed in as alice (staff, to see the usage report)."""
    make_user("alice", credits_amount=100, is_staff=True, is_superuser=True)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice")
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    yield page
    context.close()


FITS = "document.documentElement.scrollWidth <= window.innerWidth"


def test_on_a_phone_the_new_card_scrolls_into_view_and_the_usage_report_fits(phone):
    images("alice", "an older one")
    phone.goto("/")
    phone.fill("#id_prompt", "a fox on a phone")
    phone.click("#generate button[type=submit]")
    card = phone.locator("#recent .gen").first
    expect(card).to_contain_text("a fox on a phone")
    expect(card).to_be_in_viewport()
    screenshot(phone, "phone-new-card")
    phone.goto("/staff/usage/")
    expect(phone.locator("svg.chart")).to_be_visible()
    assert phone.evaluate(FITS), "the usage report is wider than the phone"
    background = phone.locator("svg.chart").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background != "rgb(255, 255, 255)"  # no white box on the dark theme
    assert phone.locator("#id_start").get_attribute("type") == "date"


def test_emptying_the_trash_asks_first(signed_in):
    page = signed_in
    (gone,) = images("alice", "unwanted")
    page.goto(f"/g/{gone.pk}/view?in=gallery")
    page.keyboard.press("Delete")
    expect(page.locator(".flash")).to_contain_text("Moved to the trash")
    page.goto("/trash/")
    page.click("text=Empty the trash now…")
    expect(page.locator("main")).to_contain_text("Delete 1 image in the trash for good")
    screenshot(page, "trash-empty-confirm")
    assert Generation.objects.get(pk=gone.pk).purged_at is None  # asking deleted nothing
    page.click("text=Cancel")
    expect(page.locator(".trashed")).to_have_count(1)
    page.click("text=Empty the trash now…")
    page.click("button:has-text('Delete for good')")
    expect(page.locator(".flash")).to_have_text("1 image deleted for good.")
    expect(page.locator(".trashed")).to_have_count(0)
    assert Generation.objects.get(pk=gone.pk).purged_at is not None


HEAR = """window.__heard = [];
const box = document.getElementById('announce');
new MutationObserver(() => window.__heard.push(box.textContent))
  .observe(box, {childList: true, characterData: true, subtree: true});"""


def test_a_status_change_is_announced_once_and_a_submit_clears_old_notices(signed_in, consumer):
    page = signed_in
    user = get_user_model().objects.get(username="alice")
    queued = services.generation_create(user=user, prompt="wait", width=512, height=512, provider="demo")
    page.goto(f"/g/{queued.pk}/")
    page.click("form[action$='/cancel'] button")  # a notice on the Generate page
    expect(page.locator("main > .flash")).to_contain_text("Canceled")
    consumer()
    page.evaluate(HEAR)
    page.fill("#id_prompt", "a heard fox")
    page.click("#generate button[type=submit]")
    expect(page.locator("main > .flash")).to_have_count(0)  # the old notice went with the submit
    expect(page.locator("#recent .gen").first).to_have_class("gen status-succeeded", timeout=30_000)
    page.wait_for_timeout(2500)  # more polls would have been announced here
    heard = page.evaluate("window.__heard")
    assert heard[-1] == "a heard fox: Done", heard
    assert len(heard) <= 4 and len(heard) == len(set(heard)), heard  # each change once


def test_the_price_line_is_replaced_only_when_it_changes(signed_in):
    page = signed_in
    quote = page.locator("#quote")
    expect(quote).to_contain_text("Costs 2 credits")
    page.evaluate("document.querySelector('#quote strong').dataset.mark = 'first'")
    with page.expect_response("**/generate/quote"):
        page.fill("#id_prompt", "a fox")  # the same price: the line is left as it was
    page.wait_for_timeout(300)  # the swap, had there been one
    assert page.evaluate("document.querySelector('#quote strong').dataset.mark") == "first"
    with page.expect_response("**/generate/quote"):
        page.check("#id_prompt_extend")
    expect(quote).to_contain_text("Costs 3 credits")
    assert page.evaluate("document.querySelector('#quote strong').dataset.mark") is None
