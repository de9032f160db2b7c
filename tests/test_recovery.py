"""The recovery passes, in-process: what happens to rows left in flight."""

from datetime import timedelta

import pytest
from django.utils import timezone

from generations.billing import ledger
from generations.lifecycle import pipeline, recovery, services
from generations.models import Generation


@pytest.fixture
def gen(owner):
    return services.generation_create(user=owner, prompt="fox", width=1024, height=1024, provider="demo")


def age(gen, seconds, **fields):
    past = timezone.now() - timedelta(seconds=seconds)
    Generation.objects.filter(pk=gen.pk).update(started_at=past, updated_at=past, **fields)
    gen.refresh_from_db()


def test_a_storing_generation_whose_url_expired_fails_refunded_and_says_so(gen, owner, settings):
    age(
        gen,
        settings.STORE_RESCUE_AFTER + 5,
        status="storing",
        source_url="https://x/a.png",
        source_expires_at=timezone.now() - timedelta(minutes=1),
    )
    assert recovery.generations_recover()["rescued"] == 1
    gen.refresh_from_db()
    assert (gen.status, gen.error_code) == ("failed", "ImageExpired")
    assert "expired before the image could be copied" in gen.error_message
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_a_stuck_running_generation_is_tried_again_while_attempts_remain(
    gen, settings, django_capture_on_commit_callbacks
):
    age(gen, settings.REAPER_TIMEOUT + 5, status="running", attempts=1)
    with django_capture_on_commit_callbacks() as callbacks:
        assert recovery.generations_recover()["reaped"] == 1
    gen.refresh_from_db()
    assert gen.status == "queued" and len(callbacks) == 1  # enqueued again after commit


def test_a_stuck_running_generation_with_no_attempts_left_fails_refunded(gen, owner, settings):
    age(gen, settings.REAPER_TIMEOUT + 5, status="running", attempts=settings.PROVIDER_MAX_ATTEMPTS)
    recovery.generations_recover()
    gen.refresh_from_db()
    assert (gen.status, gen.error_code) == ("failed", "WorkerLost")
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    assert ledger.ledger_problems() == []


def test_a_stuck_generation_its_owner_canceled_is_canceled(gen, owner, settings):
    age(gen, settings.REAPER_TIMEOUT + 5, status="running", attempts=1, cancel_requested=True)
    recovery.generations_recover()
    gen.refresh_from_db()
    assert gen.status == "canceled"
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_a_live_worker_keeps_its_generation(gen, settings):
    age(gen, settings.REAPER_TIMEOUT - 60, status="running", attempts=1)
    assert recovery.generations_recover() == {
        "slots": 0,
        "requeued": 0,
        "reaped": 0,
        "rescued": 0,
        "webhooks": 0,
    }
    gen.refresh_from_db()
    assert gen.status == "running"


def test_a_submitted_job_whose_polls_stopped_is_polled_again_not_resubmitted(
    owner, settings, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setenv("ZIMAGETURBO_API_KEY", "k")
    gen = services.generation_create(
        user=owner, prompt="fox", width=1024, height=1024, provider="zimageturbo"
    )
    age(gen, settings.REAPER_TIMEOUT + 5, status="running", attempts=1, request_id="task_1")
    scheduled = []
    monkeypatch.setattr(pipeline, "generation_schedule_poll", lambda pk, d: scheduled.append(pk))
    with django_capture_on_commit_callbacks(execute=True):
        recovery.generations_recover()
    gen.refresh_from_db()
    assert gen.status == "running" and gen.attempts == 1 and scheduled == [gen.pk]


def test_a_stuck_copy_is_sent_again_once_not_on_every_pass(gen, settings):
    from huey.contrib.djhuey import HUEY

    HUEY.flush()
    age(gen, settings.STORE_RESCUE_AFTER + 5, status="storing", source_url="https://x/a.png")
    assert recovery.generations_recover()["rescued"] == 1
    assert recovery.generations_recover()["rescued"] == 0  # touched: the next pass leaves it
    copies = [t for t in [*HUEY.pending(), *HUEY.scheduled()] if t.name == "store_generation"]
    assert [t.args[0] for t in copies] == [str(gen.pk)]
    HUEY.flush()


def test_recovery_fails_a_lost_row_only_while_it_is_still_queued(gen, owner, settings):
    """A worker claims the row between the pass's look and its fail: the worker keeps it."""
    from generations.lifecycle import status

    Generation.objects.filter(pk=gen.pk).update(status="running")
    status.generation_fail(generation=gen, sources=["queued"], code="QueueTimeout", message="x")
    gen.refresh_from_db()
    assert gen.status == "running"
