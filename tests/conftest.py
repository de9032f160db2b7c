import contextlib
import socket

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from generations.billing import ledger
from tests.fakes import FAKES
from tests.helpers import Consumer, SeaweedFS


@pytest.fixture(scope="session")
def seaweed():
    """One SeaweedFS for the session; started only by tests that need it."""
    server = SeaweedFS()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session", autouse=True)
def _s3_for_the_run(request):
    """With TEST_STORAGE=s3 every stored image goes to SeaweedFS."""
    if settings.STORAGE_BACKEND == "s3":
        request.getfixturevalue("seaweed")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 takes half a second a user on a small machine; tests need no strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A request in Chinese leaves its language active in the thread (the
    LocaleMiddleware activates, nothing deactivates): the next test's messages,
    made outside any request, must be in the default language again."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_config_cache():
    """A test's rolled-back provider configs and prices, and a paused
    thumbnail maker, must not outlive it."""
    from django.core.cache import cache

    from generations.images.thumbnails import STORAGE_FAILING
    from generations.runtime.config_cache import config_cache_clear

    config_cache_clear()
    cache.delete(STORAGE_FAILING)  # a test's storage outage pauses thumbnails in the next
    yield
    config_cache_clear()


def make_user(username, *, credits_amount=0, **extra):
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, **extra)
    if credits_amount:
        ledger.grant(user=user, amount=credits_amount, note="test funds")
    return user


@pytest.fixture
def owner(db):
    return make_user("alice", credits_amount=100)


@pytest.fixture
def done(owner):
    """A succeeded demo generation of `owner`, stored with its thumbnail."""
    from generations.lifecycle import pipeline, services

    gen = services.generation_create(
        user=owner, prompt="a fox", width=1024, height=1024, provider="demo", seed=1
    )
    pipeline.generation_run(generation_id=gen.pk)
    gen.refresh_from_db()
    return gen


@pytest.fixture
def other(db):
    return make_user("bob", credits_amount=100)


@pytest.fixture
def admin_user(db):
    return make_user("root", credits_amount=100, is_staff=True, is_superuser=True)


@pytest.fixture(scope="session")
def fake_servers():
    """Every fake provider server, by registry name, for the whole session."""
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(fake.serve()) for name, fake in FAKES.items()}


@pytest.fixture
def fake_env(fake_servers, monkeypatch):
    """`fake_env(name)`: point provider `name` at its fake, in this process and
    (through the returned dict) in a consumer; the fake starts counting afresh."""

    def point(name: str) -> dict[str, str]:
        server = fake_servers[name]
        server.reset()
        prefix = name.upper()
        env = {f"{prefix}_BASE_URL": server.url, f"{prefix}_API_KEY": FAKES[name].API_KEY}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return env

    return point


@pytest.fixture
def dashscope_server(fake_servers):
    fake_servers["dashscope"].reset()
    return fake_servers["dashscope"]


@pytest.fixture
def dashscope_env(fake_env):
    return fake_env("dashscope")


@pytest.fixture
def consumer(transactional_db):
    """Start real Huey consumers: `consumer(env={...})`; all stopped at the end."""
    from huey.contrib.djhuey import HUEY

    HUEY.flush()  # nothing left over from an earlier test
    started = []

    def start(**kwargs):
        started.append(Consumer(**kwargs))
        return started[-1]

    yield start
    for proc in started:
        proc.stop()
    HUEY.flush()


@pytest.fixture
def rebinding_dns(monkeypatch):
    """The name `rebind.test` as a DNS rebinding attacker serves it: its first
    lookup answers 127.0.0.2, every later one 127.0.0.1. A test blocks
    127.0.0.1 (where fake servers listen: the private target) and lets
    127.0.0.2 pass (the public address; nothing listens there). Returns the
    answers given, in order."""
    real, answers = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        answers.append("127.0.0.1" if answers else "127.0.0.2")
        return real(answers[-1], port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers
