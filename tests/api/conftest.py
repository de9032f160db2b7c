import httpx
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from generations.api import tokens
from generations.lifecycle import pipeline, services


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The fixture users' passwords need no real hashing cost here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts(settings):
    """Throttle counts live in the cache; each test starts with none. A local
    cache, so clearing it never flushes a Redis database others share."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()


def client_for(user) -> APIClient:
    client = APIClient()
    _, raw = tokens.api_token_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api(owner):
    return client_for(owner)


@pytest.fixture
def other_api(other):
    return client_for(other)


@pytest.fixture
def anon():
    return APIClient()


def make_generation(user, *, run=False, **kw):
    """A demo generation; `run=True` runs it to its end in this process."""
    args = {"prompt": "a red fox in snow", "width": 1024, "height": 1024, "provider": "demo", "seed": 7}
    generation = services.generation_create(user=user, **{**args, **kw})
    if run:
        pipeline.generation_run(generation_id=generation.pk)
        generation.refresh_from_db()
    return generation


def download(client, url) -> tuple[bytes, str]:
    """(content, content type) of a stored file: streamed (local) or redirected to (S3)."""
    response = client.get(url)
    if response.status_code == 302:
        response = httpx.get(response["Location"])
        return response.content, response.headers["Content-Type"]
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content), response["Content-Type"]
