"""What a person does in the dashboard, in a real browser, with a real worker."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from generations.lifecycle import pipeline, services
from tests.browser.conftest import screenshot
from tests.helpers import wait_for

pytestmark = pytest.mark.slow


def images_loaded(page) -> None:
    """Every image on the page arrived and decoded (served by the permission-checked views).
    Polled with `evaluate`: `wait_for_function` compiles its predicate in the
    page, which the site's Content-Security-Policy (no eval) refuses."""
    loaded = "[...document.images].every(i => i.complete && i.naturalWidth > 0)"
    wait_for(lambda: page.evaluate(loaded), timeout=15, what="every image to load")


def generate(page, prompt: str) -> None:
    page.fill("#id_prompt", prompt)
    page.press("#id_prompt", "Control+Enter")  # keyboard submit


def test_it_generates_watches_finds_opens_and_remixes(signed_in, consumer):
    page = signed_in
    consumer()
    page.evaluate("window.__noReload = 'still here'")  # gone if the page navigates
    page.fill("#id_prompt", "a red fox in the snow")
    expect(page.locator("#prompt-count")).to_have_text("21")
    expect(page.locator("#quote")).to_contain_text("Costs 2 credits")
    page.check("#id_prompt_extend")
    expect(page.locator("#quote")).to_contain_text("Costs 3 credits")
    page.uncheck("#id_prompt_extend")
    expect(page.locator("#quote")).to_contain_text("balance after: 98")
    generate(page, "a red fox in the snow")
    card = page.locator("#recent .gen").first
    expect(card).to_contain_text("a red fox in the snow")
    expect(card).to_have_class("gen status-succeeded", timeout=30_000)
    expect(card.locator("img")).to_be_visible()
    expect(page.locator("#balance")).to_have_text("98")
    assert page.evaluate("window.__noReload") == "still here"
    screenshot(page, "generate")

    page.click("nav >> text=Gallery")
    page.fill("#id_q", "red fox")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#gallery .gen")).to_have_count(1)
    images_loaded(page)
    screenshot(page, "gallery")
    page.click("#gallery .gen a")  # the viewer
    page.click(".viewer-actions >> text=Details")
    expect(page.locator("h1.prompt-title")).to_have_text("a red fox in the snow")
    expect(page.locator("#seed")).not_to_have_text("—")
    images_loaded(page)
    screenshot(page, "detail")

    page.click("text=Remix (same seed)")  # opens the form filled in; nothing spent yet
    expect(page.locator("#id_prompt")).to_have_value("a red fox in the snow")
    expect(page.locator("#id_seed")).to_have_value(str(card_seed(page)))
    expect(page.locator("input[name=seed_mode][value=fixed]")).to_be_checked()
    expect(page.locator("input[name=size][value='1024x1024']")).to_be_checked()
    expect(page.locator("#balance")).to_have_text("98")
    assert get_user_model().objects.get(username="alice").generations.count() == 1
    page.fill("#id_prompt", "a red fox in the snow, at night")  # edited before it is spent
    page.click("#generate button[type=submit]")
    expect(page.locator("#recent .gen.status-succeeded")).to_have_count(2, timeout=30_000)
    expect(page.locator("#recent .gen").first).to_contain_text("at night")
    expect(page.locator("#balance")).to_have_text("96")


def card_seed(page) -> int:
    """The seed of alice's first image, as the detail page showed it."""
    return get_user_model().objects.get(username="alice").generations.earliest("created_at").seed_used


def test_it_works_in_simplified_chinese(signed_in, consumer):
    page = signed_in
    consumer()
    page.select_option("#language", "zh-hans")
    expect(page.locator("h1")).to_have_text("生成")
    expect(page.locator("label[for=id_prompt]")).to_have_text("提示词")
    page.evaluate("window.__noReload = 1")
    generate(page, "雪地里的红狐狸")
    card = page.locator("#recent .gen").first
    expect(card).to_contain_text("雪地里的红狐狸")
    expect(card.locator(".badge")).to_have_text("完成", timeout=30_000)
    assert page.evaluate("window.__noReload") == 1
    screenshot(page, "zh-hans")


UNLABELLED = """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.outerHTML)
    .concat([...document.images].filter(i => !i.alt).map(i => i.outerHTML))"""


def test_every_page_fits_a_phone_and_labels_every_input(signed_in):
    page = signed_in
    gen = finished_generation("alice")
    page.set_viewport_size({"width": 390, "height": 844})
    for url in (
        "/",
        "/gallery/",
        f"/g/{gen.pk}/",
        "/prompts/",
        "/collections/",
        "/credits/",
        "/trash/",
        "/team/",
        "/tokens/",
        "/batches/",
        "/accounts/password/",
    ):
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url} scrolls sideways by {overflow}px on a phone"
        assert page.evaluate(UNLABELLED) == [], url
    page.goto("/")
    screenshot(page, "phone-generate")


def finished_generation(username):
    gen = services.generation_create(
        user=get_user_model().objects.get(username=username),
        prompt="a lighthouse",
        width=1024,
        height=1024,
        provider="demo",
    )
    pipeline.generation_run(generation_id=gen.pk)
    return gen
