import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from generations import credits
from tests.fakes import dashscope as fake_dashscope
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


def make_user(username, *, credits_amount=0, **extra):
    user = get_user_model().objects.create_user(username=username, password="pw-" + username,
                                                **extra)
    if credits_amount:
        credits.grant(user=user, amount=credits_amount, note="test funds")
    return user


@pytest.fixture
def owner(db):
    return make_user("alice", credits_amount=100)


@pytest.fixture
def other(db):
    return make_user("bob", credits_amount=100)


@pytest.fixture
def admin_user(db):
    return make_user("root", credits_amount=100, is_staff=True, is_superuser=True)


@pytest.fixture(scope="session")
def dashscope_server():
    with fake_dashscope.serve() as server:
        yield server


@pytest.fixture
def dashscope_env(dashscope_server, monkeypatch):
    env = {"DASHSCOPE_BASE_URL": dashscope_server.url, "DASHSCOPE_API_KEY": fake_dashscope.API_KEY}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


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
