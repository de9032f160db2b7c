"""At most ProviderConfig.max_concurrency calls to a provider at once, across
every worker of every consumer process."""

from datetime import timedelta
from uuid import uuid4

import pytest
from django.utils import timezone

from generations.billing import ledger
from generations.lifecycle import pipeline, services
from generations.lifecycle.slots import ProviderBusy, provider_slot
from generations.models import Generation, ProviderConfig, ProviderSlot
from tests.fakes import dashscope as fake_dashscope
from tests.fakes.server import FakeServer
from tests.helpers import wait_for


class CountingHandler(fake_dashscope.DashScopeHandler):
    """The fake DashScope, counting calls in progress and the most at once."""

    def route(self, method, path, query, body):
        with self.server.lock:
            self.server.active += 1
            self.server.peak = max(self.server.peak, self.server.active)
        try:
            super().route(method, path, query, body)
        finally:
            with self.server.lock:
                self.server.active -= 1


@pytest.fixture
def counting_dashscope():
    server = FakeServer(CountingHandler)
    server.active = server.peak = 0
    with server:
        yield server


@pytest.mark.slow
def test_two_consumers_never_exceed_the_provider_limit(owner, consumer, counting_dashscope):
    ProviderConfig.objects.create(name="dashscope", max_concurrency=2, timeout_s=30)
    env = {
        "DASHSCOPE_BASE_URL": counting_dashscope.url,
        "DASHSCOPE_API_KEY": fake_dashscope.API_KEY,
        "PROVIDER_SLOT_WAIT": "0.2",
    }
    first, second = consumer(env=env), consumer(env=env)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DASHSCOPE_API_KEY", fake_dashscope.API_KEY)
        gens = [
            services.generation_create(
                user=owner, prompt="a fox [slow:0.7]", width=1024, height=1024, provider="dashscope", seed=i
            )
            for i in range(6)
        ]

    def all_done():
        return Generation.objects.filter(
            pk__in=[g.pk for g in gens], status__in=Generation.FINISHED
        ).count() == len(gens)

    wait_for(all_done, timeout=120, what="six slow generations to finish")
    statuses = set(Generation.objects.values_list("status", "attempts"))
    assert statuses == {("succeeded", 1)}, first.output() + second.output()
    assert counting_dashscope.peak == 2
    assert all("run_generation" in c.output() for c in (first, second))  # both took part
    assert not ProviderSlot.objects.filter(holder__isnull=False).exists()
    assert ledger.ledger_problems() == []


def new_generation(user):
    return Generation.objects.create(
        owner=user, prompt="p", width=1024, height=1024, provider="dashscope", credits_cost=2
    )


def test_a_slot_is_given_back_even_when_the_call_fails(owner):
    ProviderConfig.objects.create(name="dashscope", max_concurrency=1)
    gen = new_generation(owner)
    with pytest.raises(RuntimeError), provider_slot(gen):
        assert ProviderSlot.objects.get().holder == gen.pk
        raise RuntimeError("provider crashed")
    assert ProviderSlot.objects.get().holder is None


def test_a_busy_provider_raises_and_a_stale_slot_is_taken_over(owner):
    ProviderConfig.objects.create(name="dashscope", max_concurrency=1, timeout_s=10)
    ProviderSlot.objects.create(provider="dashscope", number=0, holder=uuid4(), taken_at=timezone.now())
    with pytest.raises(ProviderBusy), provider_slot(new_generation(owner)):
        pass
    ProviderSlot.objects.update(taken_at=timezone.now() - timedelta(seconds=100))  # worker died
    gen = new_generation(owner)
    with provider_slot(gen):
        assert ProviderSlot.objects.get().holder == gen.pk


def test_waiting_for_a_slot_is_not_an_attempt_and_nothing_polls(owner, monkeypatch):
    """Every slot taken: the generation stays queued, untried, with no retry
    scheduled (the slot's holder runs it next), however often it is woken."""
    from huey.contrib.djhuey import HUEY

    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test")
    ProviderConfig.objects.create(name="dashscope", max_concurrency=1)
    ProviderSlot.objects.create(provider="dashscope", number=0, holder=uuid4(), taken_at=timezone.now())
    gen = services.generation_create(user=owner, prompt="p", width=1024, height=1024, provider="dashscope")
    HUEY.flush()
    for _ in range(10):  # far past PROVIDER_MAX_ATTEMPTS
        assert pipeline.generation_run(generation_id=gen.pk) is None
    gen.refresh_from_db()
    assert (gen.status, gen.attempts, gen.error_code) == ("queued", 0, "")
    assert HUEY.pending_count() == 0 and HUEY.scheduled_count() == 0
