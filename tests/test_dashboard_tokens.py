"""The API tokens page: a token is shown once, works, revokes, and is nobody else's."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from generations.api import tokens
from generations.models import ApiToken


def create(client, **form) -> tuple[ApiToken, str]:
    """Create a token through the page; (the row, the raw token the page showed)."""
    response = client.post(reverse("tokens"), {"name": "laptop", **form})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    raw = response.context["raw_token"]
    assert raw.startswith(tokens.PREFIX) and raw in response.content.decode()
    return ApiToken.objects.get(user=response.context["user"], name=form.get("name", "laptop")), raw


def me_status(raw: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api.get("/api/v1/me/").status_code


@pytest.fixture
def mine(owner):
    return tokens.api_token_create(user=owner, name="ci job")[0]


def test_it_shows_a_new_token_once_and_it_works_with_the_api(client, owner):
    client.force_login(owner)
    token, raw = create(client, expires_days=30)
    assert me_status(raw) == 200
    page = client.get(reverse("tokens")).content.decode()
    assert raw not in page and token.prefix in page and "laptop" in page
    assert token.expires_at is not None
    assert raw not in str(dict(client.session))


def test_it_keeps_only_the_hash(client, owner):
    client.force_login(owner)
    token, raw = create(client)
    assert token.token_hash == tokens.token_hash(raw) and token.prefix == raw[:12]
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert raw not in [str(value) for value in stored.values()]


def test_it_asks_for_a_name_and_a_sane_expiry(client, owner):
    client.force_login(owner)
    for form in ({"name": ""}, {"name": "x", "expires_days": 0}):
        response = client.post(reverse("tokens"), form)
        assert response.status_code == 200 and response.context["raw_token"] is None
    assert not ApiToken.objects.exists()


def test_it_revokes_after_confirmation_and_the_token_then_fails(client, owner):
    client.force_login(owner)
    token, raw = create(client)
    url = reverse("token_revoke", args=[token.pk])
    assert "laptop" in client.get(url).content.decode()  # the confirmation asks first
    token.refresh_from_db()
    assert token.revoked_at is None and me_status(raw) == 200
    assert client.post(url).url == reverse("tokens")
    token.refresh_from_db()
    assert token.revoked_at is not None and me_status(raw) == 401
    assert "Revoked" in client.get(reverse("tokens")).content.decode()


def test_it_is_a_404_for_another_users_token(client, other, mine):
    client.force_login(other)
    url = reverse("token_revoke", args=[mine.pk])
    assert client.get(url).status_code == 404 and client.post(url).status_code == 404
    mine.refresh_from_db()
    assert mine.revoked_at is None
    assert "ci job" not in client.get(reverse("tokens")).content.decode()


def test_it_sends_anonymous_visitors_to_sign_in(client, mine):
    for url in (reverse("tokens"), reverse("token_revoke", args=[mine.pk])):
        assert client.get(url).url.startswith(reverse("login"))
    assert client.post(reverse("tokens"), {"name": "x"}).url.startswith(reverse("login"))
    assert ApiToken.objects.count() == 1


def test_reloading_the_answer_does_not_make_a_second_token(client, owner):
    client.force_login(owner)
    form_id = client.get(reverse("tokens")).context["form_id"]
    first = client.post(reverse("tokens"), {"name": "laptop", "form_id": form_id})
    assert first.context["raw_token"]
    again = client.post(reverse("tokens"), {"name": "laptop", "form_id": form_id})  # a reload
    assert again.status_code == 200 and again.context["raw_token"] is None
    assert "already sent" in again.content.decode()
    assert ApiToken.objects.filter(user=owner).count() == 1
    fresh = client.get(reverse("tokens")).context["form_id"]
    assert fresh != form_id
    assert client.post(reverse("tokens"), {"name": "ci", "form_id": fresh}).context["raw_token"]
    assert ApiToken.objects.filter(user=owner).count() == 2
    assert first.context["raw_token"] not in str(dict(client.session))
