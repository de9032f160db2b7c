"""Lost queue messages: the database, not the queue, is the record of pending
work. A generation whose message was lost (flushed, never sent because the
broker was down, taken by a consumer that died before claiming it) is found
and run, or, past its time, failed and refunded; rows whose message is still
waiting are left alone. Runs on the configured broker: Huey on SQLite by
default, Redis in CI's PostgreSQL pass."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from rest_framework.test import APIClient

from generations.api import tokens
from generations.billing import ledger
from generations.lifecycle import recovery, services
from generations.models import Generation
from tests.helpers import wait_finished


def create(user, n=1):
    return [
        services.generation_create(user=user, prompt=f"fox {i}", width=512, height=512, provider="demo")
        for i in range(n)
    ]


def age(*gens, seconds=120):
    past = timezone.now() - timedelta(seconds=seconds)
    Generation.objects.filter(pk__in=[g.pk for g in gens]).update(updated_at=past)


def run_ids() -> list[str]:
    return sorted(str(t.args[0]) for t in HUEY.pending() if t.name == "run_generation")


@pytest.fixture
def empty_queue(transactional_db):
    HUEY.flush()
    yield
    HUEY.flush()


def test_rows_whose_message_waits_in_the_queue_are_left_alone(owner, empty_queue):
    gens = create(owner, 5)
    age(*gens)
    assert len(run_ids()) == 5
    assert recovery.generations_recover()["requeued"] == 0
    assert len(run_ids()) == 5  # no copies: thousands may wait legitimately


def test_a_flushed_queue_is_refilled_once_and_the_images_are_made(owner, empty_queue, consumer):
    gens = create(owner, 4)
    HUEY.flush()  # every message lost, the rows still queued with credits held
    age(*gens)
    assert recovery.generations_recover()["requeued"] == 4
    assert run_ids() == sorted(str(g.pk) for g in gens)
    assert recovery.generations_recover()["requeued"] == 0  # sent once, not every pass
    consumer()
    for gen in gens:
        assert wait_finished(gen).status == "succeeded"
    assert ledger.balance(user=owner).held == 0
    assert ledger.ledger_problems() == []


def test_a_consumer_started_after_the_loss_recovers_at_once(owner, empty_queue, consumer):
    [gen] = create(owner)
    HUEY.flush()
    age(gen)
    consumer()  # its start-up recovery pass, not the next minute's
    assert wait_finished(gen).status == "succeeded"


def test_a_lost_row_past_its_time_fails_and_is_refunded(owner, empty_queue, settings):
    [gen] = create(owner)
    HUEY.flush()
    Generation.objects.filter(pk=gen.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.QUEUED_EXPIRE + 5),
        updated_at=timezone.now() - timedelta(seconds=settings.QUEUED_EXPIRE + 5),
    )
    assert recovery.generations_recover()["requeued"] == 1
    gen.refresh_from_db()
    assert (gen.status, gen.error_code) == ("failed", "QueueTimeout")
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    assert run_ids() == []


class BrokenStorage:
    """A queue broker that cannot be reached: every call raises as a client does."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

        return fail


@pytest.fixture
def broker_down(monkeypatch, empty_queue, settings):
    """The queue and, as when Redis is down, the web's cache unreachable."""
    monkeypatch.setattr(HUEY, "storage", BrokenStorage())
    settings.CACHES = {
        "default": {"BACKEND": "zimage_site.cache.TolerantRedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    yield
    monkeypatch.undo()


def test_a_create_while_the_broker_is_down_answers_202_and_runs_once_it_is_back(
    owner, consumer, broker_down, monkeypatch, client
):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.api_token_create(user=owner, name='t')[1]}")
    response = api.post(
        "/api/v1/generations/",
        {"prompt": "a fox", "provider": "demo", "width": 512, "height": 512},
        format="json",
    )
    assert response.status_code == 202, response.content
    client.force_login(owner)
    page = client.post(
        reverse("home"), {"prompt": "a whale", "provider": "demo", "size": "512x512", "seed_mode": "random"}
    )
    assert page.status_code in (200, 302), page.content
    gens = list(Generation.objects.order_by("created_at"))
    assert [g.status for g in gens] == ["queued", "queued"]
    assert ledger.balance(user=owner).held == sum(g.credits_cost for g in gens)

    monkeypatch.undo()  # the broker is back
    age(*gens)
    consumer()
    for gen in gens:
        assert wait_finished(gen).status == "succeeded"
    assert ledger.balance(user=owner).held == 0
    assert ledger.ledger_problems() == []


def test_recovery_leaves_a_row_a_worker_has_just_taken(owner, empty_queue):
    [gen] = create(owner)
    HUEY.flush()  # taken off the queue a moment ago, not yet claimed
    assert recovery.generations_recover()["requeued"] == 0
    time.sleep(0.01)
    assert run_ids() == []
