"""End to end through a real Huey consumer process (not immediate mode)."""

import os
import signal
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from generations.billing import ledger
from generations.lifecycle import services
from generations.models import CreditEntry, Generation
from tests.fakes.dashscope import image_key
from tests.fakes.server import png_bytes
from tests.helpers import wait_finished as finished
from tests.helpers import wait_for

pytestmark = pytest.mark.slow


def create(user, **kw):
    args = {"prompt": "a red fox in snow", "width": 1024, "height": 1024}
    return services.generation_create(user=user, **{**args, **kw})


def test_it_runs_a_demo_generation_in_the_consumer(owner, consumer):
    consumer()
    gen = finished(create(owner, provider="demo", seed=3))
    assert gen.status == "succeeded", gen.error_message
    assert default_storage.exists(gen.image.name) and default_storage.exists(gen.thumbnail.name)
    assert ledger.balance(user=owner) == ledger.Balance(available=98, held=0)
    assert ledger.ledger_problems() == []


SPREAD = {"HUEY_WORKER_PROCESSES": "2"}  # the default on Redis + PostgreSQL with 2 cores


def slow_ones(owner, count: int, seconds: int) -> list:
    return [create(owner, provider="dashscope", prompt=f"fox {i} [slow:{seconds}]") for i in range(count)]


def test_its_workers_are_spread_over_processes_each_running_threads(owner, consumer, dashscope_env):
    started = consumer(env={**dashscope_env, **SPREAD}, workers=4)
    assert "started with 2 process" in started.output()
    assert "Each worker process runs 2 worker threads" in started.output()
    gens = slow_ones(owner, 4, 3)
    running = Generation.objects.filter(status=Generation.Status.RUNNING)
    wait_for(lambda: running.count() == 4, timeout=20, what="four calls in flight at once")
    for gen in map(finished, gens):
        assert gen.status == "succeeded", gen.error_message
        assert default_storage.exists(gen.image.name) and default_storage.exists(gen.thumbnail.name)
    assert ledger.balance(user=owner) == ledger.Balance(available=92, held=0)
    assert ledger.ledger_problems() == []


def test_sigint_lets_every_thread_finish_its_generation(owner, consumer, dashscope_env):
    started = consumer(env={**dashscope_env, **SPREAD}, workers=4)
    gens = slow_ones(owner, 3, 2)
    running = Generation.objects.filter(status=Generation.Status.RUNNING)
    wait_for(lambda: running.count() == 3, timeout=20, what="three calls in flight")
    os.killpg(started.proc.pid, signal.SIGINT)
    assert started.proc.wait(timeout=20) == 0
    for gen in gens:
        gen.refresh_from_db()
        assert gen.status == "succeeded", gen.error_message


def test_its_worker_processes_end_when_the_consumer_is_killed(consumer):
    started = consumer(env=SPREAD, workers=4)
    children = wait_for(lambda: worker_pids(started.proc.pid), timeout=10, what="worker processes")
    os.kill(started.proc.pid, signal.SIGKILL)  # the consumer alone, not its process group
    started.proc.wait()
    wait_for(lambda: not any(_alive(pid) for pid in children), timeout=10, what="its worker processes to end")


def worker_pids(parent: int) -> list[int]:
    """The consumer's child processes (two workers and the scheduler)."""
    found = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _parent_of(entry.name) == parent
    ]
    return found if len(found) == 3 else []


def _stat(pid) -> list[str]:
    """State, parent, ... of a process from /proc ([] once it is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _parent_of(pid) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def _alive(pid) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"  # ended but not yet reaped by init counts as ended


def test_it_stores_exactly_what_dashscope_served(owner, consumer, dashscope_env):
    consumer(env=dashscope_env)
    gen = finished(create(owner, provider="dashscope", seed=42, width=1024, height=1536, prompt_extend=True))
    assert gen.status == "succeeded", gen.error_message
    served = png_bytes(1024, 1536, image_key("a red fox in snow", "1024*1536", 42))
    with default_storage.open(gen.image.name) as f:
        assert f.read() == served
    assert gen.rewritten_prompt == "rewritten: a red fox in snow"
    assert gen.reasoning and gen.request_id.startswith("r-") and gen.seed_used == 42
    assert ledger.balance(user=owner) == ledger.Balance(available=95, held=0)  # 1.57 MP + extend


@pytest.mark.parametrize(
    "code",
    ["DataInspectionFailed", "InvalidParameter", "Throttling.AllocationQuota", "IPInfringementSuspect"],
)
def test_permanent_errors_fail_with_the_code_and_release(owner, consumer, dashscope_env, code):
    consumer(env=dashscope_env)
    gen = finished(create(owner, provider="dashscope", prompt=f"fox [error:{code}]"))
    assert (gen.status, gen.error_code) == ("failed", code)
    assert f"fake {code}" in gen.error_message
    assert gen.attempts == 1  # not retried
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    assert set(CreditEntry.objects.filter(generation=gen).values_list("kind", flat=True)) == {
        "hold",
        "release",
    }


@pytest.mark.parametrize("code", ["Throttling", "InternalError"])
def test_transient_errors_succeed_after_backoff(owner, consumer, dashscope_env, code):
    consumer(env={**dashscope_env, "PROVIDER_RETRY_BASE": "0.2"})
    gen = finished(create(owner, provider="dashscope", prompt=f"fox [error:{code}] [times:2]"))
    assert gen.status == "succeeded", gen.error_message
    assert gen.attempts == 3
    assert ledger.balance(user=owner) == ledger.Balance(available=98, held=0)


def test_transient_errors_give_up_after_the_bound(owner, consumer, dashscope_env):
    consumer(env={**dashscope_env, "PROVIDER_RETRY_BASE": "0.1", "PROVIDER_MAX_ATTEMPTS": "3"})
    gen = finished(create(owner, provider="dashscope", prompt="fox [error:InternalError]"))
    assert (gen.status, gen.error_code, gen.attempts) == ("failed", "InternalError", 3)
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    assert ledger.ledger_problems() == []


def test_many_at_once_all_end_and_the_ledger_adds_up(owner, consumer, dashscope_env):
    consumer(env=dashscope_env)
    gens = [create(owner, provider="dashscope" if i % 2 else "demo", seed=i) for i in range(10)]
    for gen in gens:
        finished(gen)
    assert Generation.objects.filter(status="succeeded").count() == 10
    assert ledger.balance(user=owner) == ledger.Balance(available=80, held=0)
    assert ledger.ledger_problems() == []
