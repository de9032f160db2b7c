"""A token never makes a token that outlives it, and answers that hold a
secret are never cached (issue 18, finding 3)."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from generations.api import tokens
from generations.models import ApiToken


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_token_without_an_expiry_asked_for_inherits_its_parents(owner):
    parent, raw = tokens.api_token_create(user=owner, name="short", expires_days=1)
    response = bearer(raw).post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert response.status_code == 201
    assert parse_datetime(response.json()["expires_at"]) == parent.expires_at
    assert ApiToken.objects.get(name="x").expires_at == parent.expires_at


def test_a_token_may_not_ask_for_a_later_expiry_than_its_own(owner):
    _, raw = tokens.api_token_create(user=owner, name="short", expires_days=1)
    response = bearer(raw).post("/api/v1/tokens/", {"name": "x", "expires_days": 30}, format="json")
    assert response.status_code == 400
    assert "may not outlive the token that creates it" in response.content.decode()
    assert "expires_days" in response.content.decode()
    assert not ApiToken.objects.filter(name="x").exists()


def test_a_token_may_make_a_shorter_lived_one(owner):
    _, raw = tokens.api_token_create(user=owner, name="month", expires_days=30)
    response = bearer(raw).post("/api/v1/tokens/", {"name": "x", "expires_days": 7}, format="json")
    assert response.status_code == 201
    expires = parse_datetime(response.json()["expires_at"])
    assert abs(expires - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


def test_a_token_without_expiry_and_a_session_may_make_any(owner, client):
    _, raw = tokens.api_token_create(user=owner, name="forever")
    assert bearer(raw).post("/api/v1/tokens/", {"name": "x"}, format="json").json()["expires_at"] is None
    session = APIClient()
    session.force_login(owner)
    response = session.post("/api/v1/tokens/", {"name": "y", "expires_days": 3650}, format="json")
    assert response.status_code == 201


def test_answers_that_hold_a_secret_are_not_cached(api, owner, client):
    created = api.post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert created.status_code == 201 and "no-store" in created["Cache-Control"]
    for method in ("get", "post"):
        response = getattr(api, method)("/api/v1/me/webhook-secret/")
        assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    client.force_login(owner)
    page = client.post(reverse("tokens"), {"name": "laptop"})
    assert b"zis_" in page.content and "no-store" in page["Cache-Control"]
