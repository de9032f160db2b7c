"""Batches in a real browser with a real worker: a grid that fills in live,
download all, and a prompt list with its price before anything is held."""

import io
import zipfile

import pytest
from playwright.sync_api import expect

from generations.billing import ledger
from generations.models import Batch, Generation
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.slow


def test_four_images_per_prompt_fill_a_grid_live_and_download_as_one_zip(signed_in, consumer):
    page = signed_in
    consumer()
    page.fill("#id_prompt", "a lighthouse at dusk")
    page.select_option("#id_count", "4")
    expect(page.locator("#quote")).to_contain_text("4 images")
    expect(page.locator("#quote")).to_contain_text("Costs 8 credits")
    page.click("#generate button[type=submit]")
    group = page.locator("#recent .batch")
    expect(group.locator(".gen")).to_have_count(4)
    expect(group.locator(".batch-progress")).to_contain_text("4 of 4 done", timeout=30_000)
    expect(group.locator(".gen.status-succeeded img")).to_have_count(4)
    expect(page.locator("#balance")).to_have_text("92")
    screenshot(page, "batch")
    with page.expect_download() as download:
        group.locator("text=Download all (ZIP)").click()
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
    names = archive.namelist()
    assert len(names) == 4 and all(archive.read(n)[:4] == b"\x89PNG" for n in names)
    stored = {g.sha256 for g in Generation.objects.all()}
    assert len(stored) == 4  # four different images, each once in the archive


def test_a_prompt_list_shows_its_price_then_runs_as_a_batch(signed_in, consumer):
    page = signed_in
    page.goto("/batches/")
    page.fill("#id_prompts", "a red mug\na blue vase\na green lamp")
    expect(page.locator("#batch-quote")).to_contain_text("3 images · costs 6 credits")
    expect(page.locator("#batch-quote")).to_contain_text("balance after: 94")
    assert not Batch.objects.exists()  # the preview holds nothing
    page.check("input[name=kind][value=sweep]")
    expect(page.locator("#id_prompts")).to_be_hidden()
    page.fill("#id_sweep_prompt", "a fox")
    page.fill("#id_seeds", "9-3")
    expect(page.locator("#batch-quote")).to_contain_text("runs backwards")
    page.check("input[name=kind][value=list]")
    page.fill("#id_name", "catalog")
    consumer()
    page.click("#batch-form button[type=submit]")
    expect(page.locator(".batch h2")).to_have_text("catalog")
    expect(page.locator(".batch-progress")).to_contain_text("3 of 3 done", timeout=30_000)
    expect(page.locator(".batch .gen.status-succeeded")).to_have_count(3)
    assert ledger.balance(user=Batch.objects.get().owner).available == 94
    page.goto("/batches/")
    expect(page.locator(".batch-row")).to_contain_text("3 of 3 done")
