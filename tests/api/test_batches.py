"""Batches over REST: create (idempotent, all or nothing), progress, the
batch's images, cancel the rest and the ZIP of them all."""

import io
import zipfile

import pytest

from generations.billing import ledger
from generations.lifecycle import pipeline
from generations.models import Batch, CreditEntry, Generation

URL = "/api/v1/batches/"


def run_all(batch_id):
    for gen in Generation.objects.filter(batch_id=batch_id):
        pipeline.generation_run(generation_id=gen.pk)


def test_four_takes_of_a_prompt(api, owner):
    response = api.post(URL, {"prompt": "a fox", "n": 4, "seed": 10, "provider": "demo"}, format="json")
    assert response.status_code == 202, response.json()
    data = response.json()
    assert data["progress"] == {
        "total": 4,
        "queued": 4,
        "running": 0,
        "succeeded": 0,
        "failed": 0,
        "canceled": 0,
        "done": 0,
        "finished": False,
        "credits": 8,
    }
    assert data["links"]["download"] == f"http://testserver{URL}{data['id']}/download/"
    images = api.get(data["links"]["generations"]).json()["results"]
    assert [(g["seed_used"], g["batch_index"], g["batch"]) for g in images] == [
        (10 + i, i, data["id"]) for i in range(4)
    ]
    assert ledger.balance(user=owner) == ledger.Balance(available=92, held=8)


def test_a_list_of_items_and_a_seed_sweep(api):
    items = [
        {"prompt": "a red mug", "size": "768x1024", "seed": 3},
        {"prompt": "a vase", "prompt_extend": True},
    ]
    data = api.post(URL, {"items": items, "name": "catalog", "provider": "demo"}, format="json").json()
    first, second = Generation.objects.filter(batch_id=data["id"]).order_by("batch_index")
    assert (first.width, first.height, first.seed, second.prompt_extend) == (768, 1024, 3, True)
    sweep = api.post(URL, {"prompt": "p", "seeds": [5, 9, 11], "provider": "demo"}, format="json").json()
    seeds = (
        Generation.objects.filter(batch_id=sweep["id"]).order_by("batch_index").values_list("seed", flat=True)
    )
    assert list(seeds) == [5, 9, 11]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"prompt": "p"}, "n", "give n (how many images) or seeds"),
        ({"items": [{"prompt": "a"}], "prompt": "b", "n": 1}, "items", "either items, or a prompt"),
        ({"prompt": "p", "n": 501}, "items", "at most 500 images; this one has 501"),
        ({"items": [{"prompt": "ok"}, {"prompt": "wide", "size": "9000x1024"}]}, "size", "Image 2: "),
    ],
)
def test_a_bad_batch_is_refused_naming_the_problem_and_writes_nothing(api, owner, body, field, message):
    response = api.post(URL, {**body, "provider": "demo"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert message in str(error["fields"][field]) and not Batch.objects.exists()
    assert ledger.balance(user=owner).held == 0


def test_a_batch_beyond_the_balance_is_refused_with_402_naming_how_many_it_covers(api, owner):
    response = api.post(URL, {"prompt": "p", "n": 80, "provider": "demo"}, format="json")
    assert response.status_code == 402
    assert response.json()["error"]["message"] == (
        "These 80 images cost 160 credits but only 100 are available: enough for 50 of them."
    )
    assert not Generation.objects.exists() and not CreditEntry.objects.filter(kind="hold").exists()


def test_an_idempotency_key_replays_the_batch(api, owner):
    body = {"prompt": "p", "n": 3, "provider": "demo"}
    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="b-1")
    again = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="b-1")
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"] and Generation.objects.count() == 3
    other = api.post(URL, {**body, "n": 4}, format="json", HTTP_IDEMPOTENCY_KEY="b-1")
    assert other.status_code == 422


def test_the_quote_prices_a_batch_and_holds_nothing(api, owner):
    response = api.post(f"{URL}quote/", {"prompt": "p", "n": 5, "provider": "demo"}, format="json")
    assert response.json() == {"provider": "demo", "images": 5, "credits": 10}
    assert ledger.balance(user=owner).held == 0 and not Batch.objects.exists()


def test_progress_refunds_cancel_and_download_all(api, owner):
    data = api.post(URL, {"prompt": "a fox", "n": 3, "provider": "demo"}, format="json").json()
    first, second, third = Generation.objects.filter(batch_id=data["id"]).order_by("batch_index")
    Generation.objects.filter(pk=second.pk).update(prompt="x [demo-fail]")
    pipeline.generation_run(generation_id=first.pk)
    pipeline.generation_run(generation_id=second.pk)
    cancel = api.post(data["links"]["cancel"]).json()
    assert cancel["progress"] == {
        "total": 3,
        "queued": 0,
        "running": 0,
        "succeeded": 1,
        "failed": 1,
        "canceled": 1,
        "done": 3,
        "finished": True,
        "credits": 2,
    }
    assert ledger.balance(user=owner) == ledger.Balance(available=98, held=0)
    response = api.get(data["links"]["download"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert len(archive.namelist()) == 1 and archive.read(archive.namelist()[0])[:4] == b"\x89PNG"
    assert ledger.ledger_problems() == []


def test_another_users_batch_is_not_found(api, other_api):
    data = api.post(URL, {"prompt": "p", "n": 2, "provider": "demo"}, format="json").json()
    for path in ("", "generations/", "download/"):
        assert other_api.get(f"{URL}{data['id']}/{path}").status_code == 404
    assert other_api.post(f"{URL}{data['id']}/cancel/").status_code == 404
    assert other_api.get(URL).json()["results"] == []
    assert Generation.objects.filter(status="queued").count() == 2
