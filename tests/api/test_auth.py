"""Tokens: stored hashed, revocable, expiring; session auth with CSRF; the command."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from generations.api import tokens
from generations.models import ApiToken

ME = "/api/v1/me/"


def bearer(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_it_stores_only_the_hash_of_a_token(owner):
    token, raw = tokens.api_token_create(user=owner, name="ci")
    assert raw.startswith("zis_") and len(raw) > 40
    row = ApiToken.objects.values().get(pk=token.pk)
    assert raw not in {str(v) for v in row.values()}
    assert row["token_hash"] == tokens.token_hash(raw) and row["prefix"] == raw[:12]


def test_it_authenticates_a_bearer_token_and_records_use(owner):
    token, raw = tokens.api_token_create(user=owner, name="ci")
    response = bearer(raw).get(ME)
    assert response.status_code == 200 and response.json()["username"] == "alice"
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    bearer(raw).get(ME)
    token.refresh_from_db()
    assert token.last_used_at == first_use  # at most one write a minute


@pytest.mark.parametrize("header", ["Bearer zis_nope", "Bearer", "Bearer a b", "Bearer sk-123"])
def test_it_refuses_unknown_tokens_with_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Bearer"


def test_anonymous_gets_401_in_the_error_shape(anon, db):
    response = anon.get(ME)
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "fields": {},
            "message": "Authentication credentials were not provided.",
        }
    }


def test_it_refuses_revoked_tokens(owner, api):
    token, raw = tokens.api_token_create(user=owner, name="old")
    assert api.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert bearer(raw).get(ME).status_code == 401
    assert api.get(f"/api/v1/tokens/{token.pk}/").json()["is_active"] is False


def test_it_refuses_expired_tokens(owner):
    token, raw = tokens.api_token_create(user=owner, name="short", expires_days=1)
    assert bearer(raw).get(ME).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer(raw).get(ME).status_code == 401


def test_it_refuses_tokens_of_inactive_users(owner):
    _, raw = tokens.api_token_create(user=owner, name="ci")
    owner.is_active = False
    owner.save()
    assert bearer(raw).get(ME).status_code == 401


def test_it_shows_a_new_token_once(api, owner):
    response = api.post("/api/v1/tokens/", {"name": "laptop", "expires_days": 30}, format="json")
    assert response.status_code == 201
    raw = response.json()["token"]
    assert bearer(raw).get(ME).status_code == 200
    listed = api.get("/api/v1/tokens/").json()["results"]
    assert {t["name"] for t in listed} == {"tests", "laptop"}
    assert all("token" not in t and "token_hash" not in t for t in listed)


def test_it_hides_another_users_tokens(owner, other, api):
    theirs, _ = tokens.api_token_create(user=other, name="theirs")
    assert api.get(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    assert api.delete(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_session_auth_works_and_needs_csrf(owner):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="alice", password="pw-alice")
    assert client.get(ME).status_code == 200
    response = client.post("/api/v1/prompts/", {"text": "a fox"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["error"]["message"]


def test_the_command_prints_a_working_token(owner, capsys):
    call_command("create_api_token", "alice", "--name", "cron", "--expires-days", "7")
    raw = capsys.readouterr().out.strip()
    assert bearer(raw).get(ME).status_code == 200
    token = ApiToken.objects.get(name="cron")
    assert token.expires_at > timezone.now() + timedelta(days=6)


def test_unknown_api_urls_answer_in_the_api_shapes(api):
    assert api.get("/api/v1/nope/").json()["error"]["code"] == "not_found"
    assert api.get("/v1/nope").json()["error"]["type"] == "invalid_request_error"
