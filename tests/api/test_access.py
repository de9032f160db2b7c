"""Every endpoint: anonymous callers get 401; another user's objects are 404."""

import pytest

from generations.api import tokens
from generations.models import CreditRequest, Prompt
from tests.api.conftest import make_generation

G = "/api/v1/generations/{gen}/"
ENDPOINTS = [
    ("get", "/api/v1/generations/"),
    ("post", "/api/v1/generations/"),
    ("get", G),
    ("delete", G),
    ("post", G + "cancel/"),
    ("post", G + "remix/"),
    ("get", G + "image/"),
    ("get", G + "thumbnail/"),
    ("get", "/api/v1/me/"),
    ("get", "/api/v1/me/webhook-secret/"),
    ("post", "/api/v1/me/webhook-secret/"),
    ("get", "/api/v1/credits/entries/"),
    ("get", "/api/v1/providers/"),
    ("post", "/api/v1/quote/"),
    ("get", "/api/v1/prompts/"),
    ("post", "/api/v1/prompts/"),
    ("get", "/api/v1/prompts/{prompt}/"),
    ("patch", "/api/v1/prompts/{prompt}/"),
    ("delete", "/api/v1/prompts/{prompt}/"),
    ("get", "/api/v1/tokens/"),
    ("post", "/api/v1/tokens/"),
    ("get", "/api/v1/tokens/{token}/"),
    ("delete", "/api/v1/tokens/{token}/"),
    ("get", "/api/v1/credit-requests/"),
    ("post", "/api/v1/credit-requests/"),
    ("get", "/api/v1/credit-requests/pending/"),
    ("get", "/api/v1/credit-requests/{creq}/"),
]
OBJECT_ENDPOINTS = [(method, path) for method, path in ENDPOINTS if "{" in path]
# Answered by a team admin or a site admin, never by the requester
# (tests/api/test_credit_requests_api.py): to anyone else, another's is a 404.
ANSWER_ENDPOINTS = [
    ("post", "/api/v1/credit-requests/{creq}/approve/"),
    ("post", "/api/v1/credit-requests/{creq}/decline/"),
]


@pytest.fixture
def others_objects(other):
    return {
        "gen": make_generation(other).pk,
        "prompt": Prompt.objects.create(owner=other, text="theirs").pk,
        "token": tokens.api_token_create(user=other, name="theirs")[0].pk,
        "creq": CreditRequest.objects.create(requester=other, amount=5, reason="theirs").pk,
    }


@pytest.mark.parametrize("method, path", ENDPOINTS + ANSWER_ENDPOINTS)
def test_anonymous_callers_get_401(anon, others_objects, method, path):
    response = getattr(anon, method)(path.format(**others_objects), {}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("method, path", OBJECT_ENDPOINTS + ANSWER_ENDPOINTS)
def test_another_users_objects_are_404(api, others_objects, method, path):
    response = getattr(api, method)(path.format(**others_objects), {"text": "mine now"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_owner_reaches_every_object_endpoint(api, owner):
    finished, queued = make_generation(owner, run=True).pk, make_generation(owner).pk
    own = {
        "prompt": Prompt.objects.create(owner=owner, text="mine").pk,
        "token": tokens.api_token_create(user=owner, name="mine")[0].pk,
        "creq": CreditRequest.objects.create(requester=owner, amount=5, reason="mine").pk,
    }
    # Delete last: it removes the finished generation the others read.
    for method, path in sorted(OBJECT_ENDPOINTS, key=lambda e: e[0] == "delete"):
        gen = queued if path.endswith("cancel/") else finished
        response = getattr(api, method)(path.format(gen=gen, **own), {"text": "still mine"}, format="json")
        assert response.status_code < 400, (method, path, response.status_code)  # 302 on S3
