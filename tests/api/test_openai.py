"""The official `openai` package, unchanged, against the site."""

import base64
import io
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from generations.api import openai as openai_view
from generations.api import tokens
from generations.billing import ledger
from generations.lifecycle import services
from generations.models import CreditAccount, Generation, ProviderRoute
from tests.helpers import wait_for
from tests.test_views import fetch

pytestmark = pytest.mark.slow


@pytest.fixture
def sdk(owner, live_server):
    _, raw = tokens.api_token_create(user=owner, name="sdk")
    return openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=raw, max_retries=0, timeout=60)


def stored_bytes(generation: Generation) -> bytes:
    with generation.image.open("rb") as f:
        return f.read()


@pytest.mark.parametrize("inline", [True, False], ids=["in-the-web-process", "queued"])
def test_the_sdk_gets_b64_json_and_a_url_that_downloads(sdk, owner, consumer, settings, inline):
    settings.OPENAI_INLINE = inline
    consumer()
    result = sdk.images.generate(
        model="z-image-turbo",
        prompt="a red fox in snow",
        size="1024x1024",
        response_format="b64_json",
        extra_body={"parameters": {"seed": 42}},
    )
    png = base64.b64decode(result.data[0].b64_json)
    generation = Generation.objects.get()
    assert png.startswith(b"\x89PNG") and png == stored_bytes(generation)
    assert generation.seed_used == 42 and result.data[0].revised_prompt == "a red fox in snow"

    result = sdk.images.generate(model="z-image-turbo", prompt="a blue whale", size="512x512")
    download = httpx.get(result.data[0].url)  # no token, no session: the link is the key
    assert download.status_code == 200
    assert download.content == stored_bytes(Generation.objects.get(prompt="a blue whale"))
    assert httpx.get(result.data[0].url + "x").status_code in (403, 404)  # tampered (S3: 403)
    assert ledger.balance(user=owner) == ledger.Balance(available=97, held=0)


def test_it_answers_without_a_worker_and_the_first_showing_makes_the_thumbnail(sdk, owner, client):
    result = sdk.images.generate(
        model="z-image-turbo", prompt="a lighthouse", size="512x512", response_format="b64_json"
    )
    generation = Generation.objects.get()
    assert base64.b64decode(result.data[0].b64_json) == stored_bytes(generation)
    assert generation.status == "succeeded" and not generation.thumbnail
    assert ledger.balance(user=owner) == ledger.Balance(available=99, held=0)
    client.force_login(owner)  # the dashboard shows it: its thumbnail is made then
    shown = fetch(client, reverse("generation_thumbnail", args=[generation.pk]))
    generation.refresh_from_db()
    with generation.thumbnail.open("rb") as f:
        stored = f.read()
    assert stored == shown and Image.open(io.BytesIO(stored)).format == "WEBP"


class StorageReads:
    """default_storage for the OpenAI view, noting each file it opens."""

    def __init__(self, storage):
        self.storage, self.opened = storage, []

    def open(self, name, mode="rb"):
        self.opened.append(name)
        return self.storage.open(name, mode)


def test_an_inline_b64_answer_is_the_stored_image_without_reading_it_back(sdk, owner, monkeypatch):
    reads = StorageReads(openai_view.default_storage)
    monkeypatch.setattr(openai_view, "default_storage", reads)
    ask = {
        "model": "z-image-turbo",
        "prompt": "a heron",
        "size": "512x512",
        "response_format": "b64_json",
        "extra_headers": {"Idempotency-Key": "heron-1"},
    }
    first = sdk.images.generate(**ask)
    generation = Generation.objects.get()
    assert base64.b64decode(first.data[0].b64_json) == stored_bytes(generation)
    assert reads.opened == []  # answered from the bytes it had just stored
    replay = sdk.images.generate(**ask)  # the same key: the stored image, read back
    assert replay.data[0].b64_json == first.data[0].b64_json
    assert reads.opened == [generation.image.name] and Generation.objects.count() == 1


def test_a_provider_failure_is_a_5xx_with_the_providers_code(sdk, owner, consumer):
    consumer()
    with pytest.raises(openai.APIStatusError) as failure:
        sdk.images.generate(model="z-image-turbo", prompt="a fox [demo-fail]", size="512x512")
    assert failure.value.status_code == 502
    assert failure.value.body["code"] == "DemoFailure" and failure.value.body["type"] == "server_error"
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"n": 11}, "n"),
        ({"n": 0}, "n"),
        ({"model": "dall-e-3"}, "model"),
        ({"size": "10x10"}, "size"),
        ({"response_format": "mp4"}, "response_format"),
    ],
)
def test_invalid_requests_are_400_invalid_request_error(sdk, kwargs, param):
    with pytest.raises(openai.BadRequestError) as error:
        sdk.images.generate(**{"model": "z-image-turbo", "prompt": "a fox", **kwargs})
    assert error.value.body["type"] == "invalid_request_error"
    assert error.value.body["param"] == param
    assert not Generation.objects.exists()


def test_n_images_come_back_together_each_with_its_seed(sdk, owner, consumer):
    consumer()
    result = sdk.images.generate(
        model="z-image-turbo",
        prompt="a lighthouse at dusk",
        size="512x512",
        n=4,
        response_format="b64_json",
        extra_body={"parameters": {"seed": 100}},
    )
    made = list(Generation.objects.order_by("batch_index"))
    assert len(result.data) == 4 and len(made) == 4 and made[0].batch_id is not None
    assert [image.seed for image in result.data] == [100, 101, 102, 103]
    assert [base64.b64decode(image.b64_json) for image in result.data] == [stored_bytes(g) for g in made]
    assert len({image.b64_json for image in result.data}) == 4  # four different images
    assert ledger.balance(user=owner) == ledger.Balance(available=96, held=0)


def test_n_images_the_balance_cannot_cover_are_refused_whole(sdk, owner, admin_user):
    ledger.adjust(user=owner, amount=-95, actor=admin_user, note="five left")
    with pytest.raises(openai.APIStatusError) as error:
        sdk.images.generate(model="z-image-turbo", prompt="a fox", size="1024x1024", n=4)
    assert error.value.status_code == 402 and error.value.body["type"] == "insufficient_quota"
    assert "enough for 2 of them" in error.value.body["message"]
    assert not Generation.objects.exists() and ledger.balance(user=owner).available == 5


def test_a_wrong_key_is_401_and_short_credits_402(sdk, owner, live_server):
    bad = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key="zis_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as error:
        bad.images.generate(model="z-image-turbo", prompt="a fox")
    assert error.value.body["code"] == "invalid_api_key"
    ledger.adjust(user=owner, amount=-100, actor=None, note="spent")
    with pytest.raises(openai.APIStatusError) as short:
        sdk.images.generate(model="z-image-turbo", prompt="a fox")
    assert short.value.status_code == 402 and short.value.body["type"] == "insufficient_quota"
    assert not Generation.objects.exists()


def test_the_sdk_lists_the_routes_and_each_usable_provider(sdk, owner, dashscope_env, settings):
    settings.CONFIG_CACHE_SECONDS = 0
    ProviderRoute.objects.create(name="fast", providers="dashscope")
    assert [m.id for m in sdk.models.list()] == [
        "z-image-turbo",
        "fast",
        "z-image-turbo@dashscope",
        "z-image-turbo@demo",
    ]
    CreditAccount.objects.filter(user=owner).update(allowed_providers=["demo"])
    assert [m.id for m in sdk.models.list()][-1:] == ["z-image-turbo@demo"]
    assert "z-image-turbo@dashscope" not in [m.id for m in sdk.models.list()]


def test_a_model_naming_a_provider_runs_there_without_fallback(sdk, owner, consumer, dashscope_env):
    consumer(env=dashscope_env)
    sdk.images.generate(model="z-image-turbo@demo", prompt="a fox", size="1024x1024")
    made = Generation.objects.get()
    assert (made.provider, made.route) == ("demo", "")


def test_a_model_naming_a_route_runs_on_it(sdk, owner, consumer, dashscope_env, settings):
    settings.CONFIG_CACHE_SECONDS = 0
    ProviderRoute.objects.create(name="fast", providers="dashscope")
    consumer(env=dashscope_env)
    sdk.images.generate(model="fast", prompt="a fox", size="1024x1024")
    made = Generation.objects.get()
    assert (made.provider, made.route) == ("dashscope", "fast")
    assert [(a.provider, a.code) for a in made.attempt_records.all()] == [("dashscope", "ok")]


@pytest.mark.parametrize("model", ["dall-e-3", "z-image-turbo@nowhere", "z-image-turbo@dashscope", "x@demo"])
def test_an_unknown_model_is_400_naming_it(sdk, model):
    with pytest.raises(openai.BadRequestError) as error:
        sdk.images.generate(model=model, prompt="a fox")
    assert error.value.body["param"] == "model" and f"'{model}'" in error.value.body["message"]
    assert not Generation.objects.exists()


def test_queued_without_a_worker_it_times_out_cancels_and_refunds(owner, settings):
    settings.OPENAI_INLINE, settings.OPENAI_WAIT_TIMEOUT = False, 0.3
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.api_token_create(user=owner, name='t')[1]}")
    response = client.post("/v1/images/generations", {"prompt": "a fox"}, format="json")
    assert response.status_code == 504 and response.json()["error"]["code"] == "timeout"
    assert Generation.objects.get().status == "canceled"
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_an_sdk_retrying_a_timed_out_request_gets_the_first_image_and_pays_once(
    owner, live_server, dashscope_env
):
    """The SDK retries a timeout with the same body and no key (only its retry
    counter tells): the retry waits for the first try's image."""
    _, raw = tokens.api_token_create(user=owner, name="sdk")
    sdk = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=raw, max_retries=4, timeout=3)
    result = sdk.images.generate(
        model="z-image-turbo", prompt="a fox [slow:5]", size="1024x1024", response_format="b64_json"
    )
    generation = Generation.objects.get()  # one image made, however many tries
    assert base64.b64decode(result.data[0].b64_json) == stored_bytes(generation)
    assert ledger.balance(user=owner).available == 100 - generation.credits_cost


def test_the_same_prompt_sent_again_not_as_a_retry_makes_a_new_image(sdk, owner):
    for _ in range(2):
        sdk.images.generate(model="z-image-turbo", prompt="a lighthouse", size="512x512")
    assert Generation.objects.filter(status="succeeded").count() == 2


def test_requests_beyond_the_waiting_cap_get_429_at_once_and_create_nothing(
    owner, live_server, dashscope_env, settings, monkeypatch
):
    settings.OPENAI_MAX_WAITING = 1
    monkeypatch.setattr(openai_view, "_waiting", None)  # made afresh with the cap above
    headers = {"Authorization": f"Bearer {tokens.api_token_create(user=owner, name='t')[1]}"}
    url = f"{live_server.url}/v1/images/generations"
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(httpx.post, url, json={"prompt": "a fox [slow:2]"}, headers=headers, timeout=30)
        wait_for(lambda: Generation.objects.exists(), timeout=10, what="the first request")
        started = time.monotonic()
        busy = httpx.post(url, json={"prompt": "a whale"}, headers=headers, timeout=30)
        assert time.monotonic() - started < 1.5  # answered at once, not after the first
        assert slow.result().status_code == 200
    assert busy.status_code == 429 and int(busy.headers["Retry-After"]) >= 1
    assert busy.json()["error"]["type"] == "rate_limit_exceeded"
    assert Generation.objects.count() == 1


def openai_post(owner, body, **headers):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.api_token_create(user=owner, name='t')[1]}")
    return client.post("/v1/images/generations", body, format="json", **headers)


def test_a_retry_never_gets_an_image_another_request_was_answered_with(owner):
    """A retry of a request that made nothing (a 429, a 5xx before the create)
    is a new image, even when an earlier request had the same prompt."""
    assert openai_post(owner, {"prompt": "a lighthouse"}).status_code == 200
    retry = openai_post(owner, {"prompt": "a lighthouse"}, HTTP_X_STAINLESS_RETRY_COUNT="1")
    assert retry.status_code == 200 and retry["Cache-Control"] == "no-store"
    made = Generation.objects.filter(status="succeeded")
    assert made.count() == 2
    assert ledger.balance(user=owner).available == 100 - sum(g.credits_cost for g in made)


def test_a_retry_is_not_matched_to_the_same_prompt_made_through_the_rest_api(owner):
    services.generation_create(user=owner, prompt="a lighthouse", width=1024, height=1024)
    retry = openai_post(owner, {"prompt": "a lighthouse"}, HTTP_X_STAINLESS_RETRY_COUNT="2")
    assert retry.status_code == 200
    assert Generation.objects.count() == 2
