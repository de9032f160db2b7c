"""The REST API's own messages answer in Simplified Chinese when the client
asks for it with Accept-Language (LocaleMiddleware), and in English otherwise."""

import re

from generations.models import Generation
from tests.api.conftest import client_for
from tests.conftest import make_user

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
CJK = re.compile(r"[\u4e00-\u9fff]")
GENERATIONS = "/api/v1/generations/"


def chinese(text: str) -> bool:
    return bool(CJK.search(text))


def test_validation_errors_come_back_in_chinese(api):
    body = {"prompt": "a fox", "size": "huge", "provider": "demo"}
    zh = api.post(GENERATIONS, body, format="json", **ZH).json()["error"]
    assert zh["code"] == "invalid"
    assert chinese(zh["message"]) and all(chinese(m) for m in zh["fields"]["size"])
    en = api.post(GENERATIONS, body, format="json").json()["error"]
    assert en["message"] == "Some fields are invalid; see `fields`."
    assert not Generation.objects.exists()


def test_a_missing_prompt_and_a_bad_idempotency_key_in_chinese(api):
    missing = api.post(GENERATIONS, {"size": "1024x1024"}, format="json", **ZH).json()["error"]
    assert all(chinese(m) for m in missing["fields"]["prompt"])
    long_key = api.post(
        GENERATIONS,
        {"prompt": "a fox", "size": "1024x1024"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * 201,
        **ZH,
    ).json()["error"]
    assert chinese(long_key["message"])


def test_too_few_credits_is_402_in_chinese(db):
    broke = client_for(make_user("poor"))
    response = broke.post(
        GENERATIONS, {"prompt": "a fox", "size": "1024x1024", "provider": "demo"}, format="json", **ZH
    )
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "insufficient_credits" and chinese(error["message"])


def test_throttling_in_chinese(api, settings):
    settings.API_THROTTLE_RATE = "1/min"
    assert api.get("/api/v1/me/", **ZH).status_code == 200
    response = api.get("/api/v1/me/", **ZH)
    assert response.status_code == 429 and chinese(response.json()["error"]["message"])


def test_batch_errors_in_chinese(api):
    both = {"prompt": "a fox", "items": [{"prompt": "a cat"}], "size": "1024x1024"}
    error = api.post("/api/v1/batches/", both, format="json", **ZH).json()["error"]
    assert all(chinese(m) for m in error["fields"]["items"])
    huge = api.post("/api/v1/batches/", {"prompt": "a fox", "n": 10**6}, format="json", **ZH).json()
    assert all(chinese(m) for messages in huge["error"]["fields"].values() for m in messages)


def test_an_unknown_endpoint_and_a_bad_token_in_chinese(client):
    assert chinese(client.get("/api/v1/nonesuch/", **ZH).json()["error"]["message"])
    bad = client.get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer nope", **ZH)
    assert bad.status_code == 401 and chinese(bad.json()["error"]["message"])
