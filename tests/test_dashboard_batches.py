"""Batches in the dashboard (the browser tests show them live): what the
forms accept, what they refuse inline, and who may see a batch."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from generations.billing import ledger
from generations.models import Batch, Generation

LIST = {"kind": "list", "provider": "demo", "size": "1024x1024"}


@pytest.fixture
def signed(client, owner):
    client.force_login(owner)
    return client


def test_images_per_prompt_makes_a_batch_from_the_generate_form(signed, owner):
    body = {"prompt": "a fox", "provider": "demo", "size": "1024x1024", "seed_mode": "fixed", "seed": 5}
    response = signed.post("/", {**body, "count": "4"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    batch = Batch.objects.get()
    assert response.content.decode().count('class="gen status-queued"') == 4
    assert list(batch.generations.order_by("batch_index").values_list("seed_used", flat=True)) == [5, 6, 7, 8]
    assert ledger.balance(user=owner).held == 8


def test_the_quote_multiplies_by_the_images_per_prompt(signed):
    body = {"prompt": "a fox", "provider": "demo", "size": "1024x1024", "count": "8"}
    page = signed.post("/generate/quote", body).content.decode()
    assert "8 images" in page and "Costs 16 credits" in page and "balance after: 84" in page


def test_an_uploaded_csv_becomes_a_batch(signed):
    upload = SimpleUploadedFile("products.csv", b"prompt,seed\na red mug,1\na vase,2\n", "text/csv")
    response = signed.post("/batches/", {**LIST, "name": "products", "file": upload})
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/batches/{batch.pk}/"
    assert list(batch.generations.values_list("prompt", "seed").order_by("batch_index")) == [
        ("a red mug", 1),
        ("a vase", 2),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"prompts": ""}, "The list holds no prompts"),
        ({"prompts": '{"prompt": "ok"}\nnot json'}, "Line 2 is not a JSON object"),
        ({"kind": "sweep", "prompt": "a fox", "seeds": "1, x"}, "&#x27;x&#x27; is not a seed"),
        ({"kind": "sweep", "seeds": "1-3"}, "Write the prompt to sweep."),
        ({"prompts": "a\nb", "size": "big"}, "Size must look like 1024x1024"),
        ({"prompts": "a fox\n" * 60}, "enough for 50 of them"),
    ],
)
def test_a_bad_batch_is_refused_inline_and_holds_nothing(signed, owner, body, message):
    response = signed.post("/batches/", {**LIST, **body})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Generation.objects.exists() and ledger.balance(user=owner).held == 0


def test_another_users_batch_is_404_everywhere(client, signed, other):
    signed.post("/batches/", {**LIST, "prompts": "a\nb"})
    batch = Batch.objects.get()
    client.force_login(other)
    for path in ("", "group", "download"):
        assert client.get(f"/batches/{batch.pk}/{path}").status_code == 404
    assert client.post(f"/batches/{batch.pk}/cancel").status_code == 404
    assert str(batch.pk) not in client.get("/batches/").content.decode()
    assert batch.generations.filter(status="queued").count() == 2


def test_cancel_the_rest_refunds_what_has_not_started(signed, owner):
    signed.post("/batches/", {**LIST, "prompts": "a\nb\nc"})
    batch = Batch.objects.get()
    page = signed.post(f"/batches/{batch.pk}/cancel", HTTP_HX_REQUEST="true").content.decode()
    assert "0 of 3 done" not in page and "3 canceled" in page
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
