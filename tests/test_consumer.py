"""End to end through a real Huey consumer process (not immediate mode)."""

import pytest
from django.core.files.storage import default_storage

from generations import credits, services
from generations.models import CreditEntry, Generation
from tests.fakes.dashscope import image_key
from tests.fakes.server import png_bytes
from tests.helpers import wait_finished as finished

pytestmark = pytest.mark.slow


def create(user, **kw):
    args = {"prompt": "a red fox in snow", "width": 1024, "height": 1024}
    return services.generation_create(user=user, **{**args, **kw})


def test_it_runs_a_demo_generation_in_the_consumer(owner, consumer):
    consumer()
    gen = finished(create(owner, provider="demo", seed=3))
    assert gen.status == "succeeded", gen.error_message
    assert default_storage.exists(gen.image.name) and default_storage.exists(gen.thumbnail.name)
    assert credits.balance(user=owner) == credits.Balance(available=98, held=0)
    assert credits.ledger_problems() == []


def test_a_consumer_with_process_workers_runs_generations_too(owner, consumer):
    """HUEY_WORKER_TYPE=process, for copy-heavy work (docs/benchmarks.md, 2):
    each worker its own interpreter, forked from the consumer."""
    started = consumer(env={"HUEY_WORKER_TYPE": "process"}, workers=2)
    assert "started with 2 process" in started.output()
    for gen in [finished(create(owner, provider="demo", seed=seed)) for seed in (1, 2, 3)]:
        assert gen.status == "succeeded", gen.error_message
        assert default_storage.exists(gen.image.name) and default_storage.exists(gen.thumbnail.name)
    assert credits.balance(user=owner) == credits.Balance(available=94, held=0)
    assert credits.ledger_problems() == []


def test_it_stores_exactly_what_dashscope_served(owner, consumer, dashscope_env):
    consumer(env=dashscope_env)
    gen = finished(create(owner, provider="dashscope", seed=42, width=1024, height=1536,
                          prompt_extend=True))
    assert gen.status == "succeeded", gen.error_message
    served = png_bytes(1024, 1536, image_key("a red fox in snow", "1024*1536", 42))
    with default_storage.open(gen.image.name) as f:
        assert f.read() == served
    assert gen.rewritten_prompt == "rewritten: a red fox in snow"
    assert gen.reasoning and gen.request_id.startswith("r-") and gen.seed_used == 42
    assert credits.balance(user=owner) == credits.Balance(available=95, held=0)  # 1.57 MP + extend


@pytest.mark.parametrize("code", ["DataInspectionFailed", "InvalidParameter",
                                  "Throttling.AllocationQuota", "IPInfringementSuspect"])
def test_permanent_errors_fail_with_the_code_and_release(owner, consumer, dashscope_env, code):
    consumer(env=dashscope_env)
    gen = finished(create(owner, provider="dashscope", prompt=f"fox [error:{code}]"))
    assert (gen.status, gen.error_code) == ("failed", code)
    assert f"fake {code}" in gen.error_message
    assert gen.attempts == 1  # not retried
    assert credits.balance(user=owner) == credits.Balance(available=100, held=0)
    assert set(CreditEntry.objects.filter(generation=gen).values_list("kind", flat=True)) == \
        {"hold", "release"}


@pytest.mark.parametrize("code", ["Throttling", "InternalError"])
def test_transient_errors_succeed_after_backoff(owner, consumer, dashscope_env, code):
    consumer(env={**dashscope_env, "PROVIDER_RETRY_BASE": "0.2"})
    gen = finished(create(owner, provider="dashscope", prompt=f"fox [error:{code}] [times:2]"))
    assert gen.status == "succeeded", gen.error_message
    assert gen.attempts == 3
    assert credits.balance(user=owner) == credits.Balance(available=98, held=0)


def test_transient_errors_give_up_after_the_bound(owner, consumer, dashscope_env):
    consumer(env={**dashscope_env, "PROVIDER_RETRY_BASE": "0.1", "PROVIDER_MAX_ATTEMPTS": "3"})
    gen = finished(create(owner, provider="dashscope", prompt="fox [error:InternalError]"))
    assert (gen.status, gen.error_code, gen.attempts) == ("failed", "InternalError", 3)
    assert credits.balance(user=owner) == credits.Balance(available=100, held=0)
    assert credits.ledger_problems() == []


def test_many_at_once_all_end_and_the_ledger_adds_up(owner, consumer, dashscope_env):
    consumer(env=dashscope_env)
    gens = [create(owner, provider="dashscope" if i % 2 else "demo", seed=i) for i in range(10)]
    for gen in gens:
        finished(gen)
    assert Generation.objects.filter(status="succeeded").count() == 10
    assert credits.balance(user=owner) == credits.Balance(available=80, held=0)
    assert credits.ledger_problems() == []
