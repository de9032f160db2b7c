"""Creating and reading generations over REST."""

import threading

import pytest
from django.db import connection

from generations.billing import ledger
from generations.models import CreditAccount, CreditEntry, Generation
from tests.api.conftest import download, make_generation

URL = "/api/v1/generations/"
BODY = {"prompt": "a red fox in snow", "size": "1024x1024", "seed": 7, "provider": "demo"}


def test_it_creates_a_generation_with_202_and_links(api, owner):
    response = api.post(URL, {**BODY, "tags": ["foxes", "snow"]}, format="json")
    assert response.status_code == 202, response.json()
    data = response.json()
    assert data["status"] == "queued" and data["size"] == "1024x1024" and data["seed"] == 7
    assert data["tags"] == ["foxes", "snow"] and data["credits_cost"] == 2
    links = data["links"]
    assert links["self"] == f"http://testserver{URL}{data['id']}/"
    assert links["cancel"] == f"http://testserver{URL}{data['id']}/cancel/"
    assert links["image"] is None and links["thumbnail"] is None
    assert ledger.balance(user=owner) == ledger.Balance(available=98, held=2)


def test_each_item_of_a_page_links_to_itself(api, owner):
    ids = {api.post(URL, BODY, format="json").json()["id"] for _ in range(3)}
    items = api.get(URL).json()["results"]
    assert {item["id"] for item in items} == ids
    for item in items:
        assert item["links"]["self"] == f"http://testserver{URL}{item['id']}/"
        assert item["links"]["cancel"] == f"http://testserver{URL}{item['id']}/cancel/"


def test_it_uses_an_own_saved_prompt_but_not_anothers(api, other_api, owner):
    prompt_id = api.post("/api/v1/prompts/", {"text": "a saved fox"}, format="json").json()["id"]
    body = {"saved_prompt": prompt_id}
    response = api.post(URL, body, format="json")
    assert response.status_code == 202
    assert response.json()["prompt"] == "a saved fox" and response.json()["size"] == "1024x1024"
    refused = other_api.post(URL, body, format="json")
    assert refused.status_code == 400 and "saved_prompt" in refused.json()["error"]["fields"]


def test_it_answers_402_and_writes_nothing_when_credits_are_short(api, owner):
    ledger.adjust(user=owner, amount=-99, actor=None, note="spend it")
    entries = CreditEntry.objects.count()
    response = api.post(URL, BODY, format="json")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert Generation.objects.count() == 0 and CreditEntry.objects.count() == entries


@pytest.mark.parametrize(
    "change, field",
    [
        ({"size": "64x64"}, "size"),
        ({"size": "big"}, "size"),
        ({"seed": 2**40}, "seed"),
        ({"provider": "nope"}, "provider"),
        ({"prompt": ""}, "prompt"),
        ({"steps": 4}, "steps"),
        ({"webhook_url": "ftp://example.com/x"}, "webhook_url"),
        ({"webhook_url": "http://127.0.0.1:9/hook"}, "webhook_url"),
        ({"tags": ["x" * 51]}, "tags"),
    ],
)
def test_it_answers_400_naming_the_field(api, change, field):
    response = api.post(URL, {**BODY, **change}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert Generation.objects.count() == 0


def test_it_answers_429_at_the_concurrency_limit(api, owner):
    CreditAccount.objects.filter(user=owner).update(max_concurrent=1)
    assert api.post(URL, BODY, format="json").status_code == 202
    response = api.post(URL, BODY, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "concurrency_limit"


def test_it_returns_the_first_generation_for_a_repeated_idempotency_key(api, owner):
    first = api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Generation.objects.count() == 1
    assert ledger.balance(user=owner).held == 2  # one hold, not two


def test_it_refuses_a_reused_idempotency_key_with_another_body(api):
    assert api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1").status_code == 202
    response = api.post(URL, {**BODY, "seed": 8}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Generation.objects.count() == 1


def test_idempotency_keys_are_per_user_and_expire(api, other_api, settings):
    mine = api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1").json()["id"]
    theirs = other_api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1").json()["id"]
    assert mine != theirs
    settings.IDEMPOTENCY_WINDOW = 0
    later = api.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert later.status_code == 202 and later.json()["id"] != mine


def test_it_lists_newest_first_with_a_cursor(api, owner):
    made = [make_generation(owner, seed=i) for i in range(3)]
    page = api.get(URL, {"page_size": 2}).json()
    assert [g["id"] for g in page["results"]] == [str(made[2].pk), str(made[1].pk)]
    rest = api.get(page["next"]).json()
    assert [g["id"] for g in rest["results"]] == [str(made[0].pk)] and rest["next"] is None


def test_it_filters_the_list(api, owner):
    fox = make_generation(
        owner, prompt="A red Fox in snow", width=1024, height=1536, seed=11, tags=["animals"]
    )
    make_generation(owner, prompt="a blue whale", seed=12)
    canceled = make_generation(owner, prompt="a green frog", seed=13)
    api.post(f"{URL}{canceled.pk}/cancel/")

    def ids(**params):
        return [g["id"] for g in api.get(URL, params).json()["results"]]

    assert ids(q="fox red") == [str(fox.pk)]
    assert ids(tag="animals") == [str(fox.pk)]
    assert ids(size="1024x1536") == [str(fox.pk)]
    assert ids(seed=11) == [str(fox.pk)]
    assert ids(status="canceled") == [str(canceled.pk)]
    assert len(ids(provider="demo", created_after=fox.created_at.isoformat())) == 3
    assert ids(created_before=fox.created_at.isoformat()) == []
    bad = api.get(URL, {"status": "nope", "seed": "x"})
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"status", "seed"}


def test_it_shows_a_finished_generation_and_serves_its_files(api, owner):
    generation = make_generation(owner, run=True)
    data = api.get(f"{URL}{generation.pk}/").json()
    assert data["status"] == "succeeded" and data["image"]["width"] == 1024
    assert data["links"]["cancel"] is None
    image, _ = download(api, data["links"]["image"])
    assert image.startswith(b"\x89PNG")
    _, thumb_type = download(api, data["links"]["thumbnail"])
    assert thumb_type == "image/webp"


def test_the_thumbnail_link_makes_a_missing_thumbnail_and_serves_it(api, owner):
    generation = make_generation(owner, run=True)
    Generation.objects.filter(pk=generation.pk).update(thumbnail="")
    data = api.get(f"{URL}{generation.pk}/").json()
    content, content_type = download(api, data["links"]["thumbnail"])
    assert content_type == "image/webp" and content[8:12] == b"WEBP"
    assert Generation.objects.get(pk=generation.pk).thumbnail


def test_it_cancels_a_queued_generation_and_refuses_a_finished_one(api, owner):
    queued = make_generation(owner)
    response = api.post(f"{URL}{queued.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    again = api.post(f"{URL}{queued.pk}/cancel/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_cancelable"


def test_it_remixes_with_the_same_new_or_a_random_seed(api, owner):
    source = make_generation(owner, seed=5, tags=["x"])
    same = api.post(f"{URL}{source.pk}/remix/", {}, format="json").json()
    new = api.post(f"{URL}{source.pk}/remix/", {"seed": 6}, format="json").json()
    rand = api.post(f"{URL}{source.pk}/remix/", {"seed": "random"}, format="json")
    assert rand.status_code == 202
    assert (same["seed"], new["seed"], rand.json()["seed"]) == (5, 6, None)
    assert rand.json()["seed_used"] is not None and same["tags"] == ["x"]
    assert same["prompt"] == source.prompt and same["id"] != str(source.pk)
    bad = api.post(f"{URL}{source.pk}/remix/", {"seed": "lucky"}, format="json")
    assert bad.status_code == 400 and "seed" in bad.json()["error"]["fields"]


def test_it_deletes_a_finished_generation_with_its_files(api, owner):
    generation = make_generation(owner, run=True)
    storage, names = generation.image.storage, [generation.image.name, generation.thumbnail.name]
    assert api.delete(f"{URL}{generation.pk}/").status_code == 204
    assert not any(storage.exists(name) for name in names)
    assert api.get(f"{URL}{generation.pk}/").status_code == 404
    assert api.get(URL).json()["results"] == []
    assert ledger.ledger_problems() == []  # the row stays for the ledger


def test_it_refuses_to_delete_an_in_flight_generation(api, owner):
    generation = make_generation(owner)
    response = api.delete(f"{URL}{generation.pk}/")
    assert response.status_code == 409
    assert "cancel" in response.json()["error"]["message"]
    assert Generation.objects.owned_by(owner).count() == 1


def test_racing_retries_with_one_key_make_one_generation(owner, transactional_db):
    barrier, results = threading.Barrier(4), []

    def create():
        barrier.wait()
        try:
            results.append(make_generation(owner, idempotency_key="race").pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert Generation.objects.count() == 1 and CreditEntry.objects.filter(kind="hold").count() == 1
    assert ledger.ledger_problems() == []
