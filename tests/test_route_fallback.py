"""The default route under a provider outage, end to end through real
consumer processes: the first provider's fake answers 500, then refuses
connections, then recovers, while generations keep coming. Every one
succeeds, the circuit opens and later ones go straight to the next provider,
the probe closes it again after the recovery, and nothing is charged twice."""

import time

import pytest
from django.db.models import Count

from generations.billing import ledger
from generations.lifecycle import circuit, services
from generations.models import Attempt, CreditEntry, Generation
from generations.providers.gpu_worker import SKIP_SECONDS
from tests.conftest import make_user
from tests.fakes import dashscope, gpu_worker
from tests.fakes.server import FakeServer
from tests.helpers import wait_finished, wait_for
from tests.test_observability import TOKEN, scrape, value

pytestmark = pytest.mark.slow

COOLDOWN = 8  # long enough that "while open" ends before a probe is due, even on a loaded machine
CIRCUIT_ENV = {"CIRCUIT_FAILURES": "3", "CIRCUIT_COOLDOWN": str(COOLDOWN), "PROVIDER_RETRY_BASE": "0.2"}


class Flaky:
    """A fake provider that can fail (500), go away (connections refused:
    nothing listens on its port) and come back on the same port."""

    def __init__(self, handler):
        self.handler = handler
        self.server = FakeServer(handler).__enter__()
        self.port = self.server.server_address[1]
        self.url = self.server.url

    def fail(self) -> None:
        self.server.outage = True

    def refuse(self) -> None:
        self.server.__exit__()
        self.server.drop_connections()

    def recover(self) -> None:
        self.server = FakeServer(self.handler, self.port).__enter__()

    def close(self) -> None:
        self.server.__exit__()


@pytest.fixture
def routed(settings, transactional_db):
    settings.CIRCUIT_FAILURES = 3
    settings.CIRCUIT_COOLDOWN = COOLDOWN
    settings.CONFIG_CACHE_SECONDS = 0
    yield make_user("router", credits_amount=400)
    for name in ("dashscope", "gpu_worker", "openai_compat"):  # Redis outlives the test database
        circuit.reset(name)


def stream(user, count: int, label: str) -> list[Generation]:
    """`count` generations on the default route (no provider named), made at once."""
    return [
        services.generation_create(user=user, prompt=f"{label} {i}", width=1024, height=1024)
        for i in range(count)
    ]


def settle(gens: list[Generation]) -> list[Generation]:
    for gen in gens:
        wait_finished(gen, timeout=60)
        assert gen.status == "succeeded", (gen.provider, gen.error_code, gen.error_message)
    return gens


def made_by(gens) -> set[str]:
    return {gen.provider for gen in gens}


def calls_to(provider: str, gens) -> int:
    return Attempt.objects.filter(generation__in=gens, provider=provider).count()


def wait_state(provider: str, wanted: str) -> None:
    wait_for(lambda: circuit.state(provider) == wanted, timeout=COOLDOWN * 3, what=f"{provider} {wanted}")


@pytest.fixture
def scraped(client, settings, tmp_path, monkeypatch):
    """The consumers count into tmp_path; `scraped()` reads it through /metrics
    as Prometheus would. This process counts nothing itself: its own circuit
    reads (wait_state) would land in another folder."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings.METRICS_TOKEN, settings.METRICS_ALLOW = TOKEN, []

    def read():
        settings.METRICS_ENABLED = True
        try:
            return scrape(client)
        finally:
            settings.METRICS_ENABLED = False

    read.env = {"METRICS_ENABLED": "1", "METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    return read


def outage_then_recovery(
    user, first: Flaky, name: str, second: str, scraped, *, forgets_after: float = 0
) -> list[Generation]:
    """About 100 generations through an outage and back. `forgets_after`:
    seconds a worker process keeps skipping an address that refused it (the
    GPU worker provider's own skip list, per process)."""
    made = settle(stream(user, 20, "healthy"))
    assert made_by(made) == {name}

    first.fail()
    failing = settle(stream(user, 30, "failing"))
    assert made_by(failing) == {second}
    assert 3 <= calls_to(name, failing) <= 30  # each failed once at most before falling back

    assert circuit.state(name) == circuit.OPEN  # so these start on the next provider
    samples = scraped()
    assert value(samples, "zimage_circuit_state", provider=name) == 2  # open
    fallbacks = sum(
        v
        for (metric, labels), v in samples.items()
        if metric == "zimage_fallbacks_total"
        and ("from_provider", name) in labels
        and ("to_provider", second) in labels
    )
    assert fallbacks >= calls_to(name, failing)  # every failed call moved its generation on
    straight = settle(stream(user, 15, "while open"))
    assert made_by(straight) == {second} and calls_to(name, straight) == 0

    first.refuse()
    wait_state(name, circuit.HALF_OPEN)
    refused = settle(stream(user, 10, "refused"))
    assert made_by(refused) == {second}
    assert calls_to(name, refused) == 1  # the one probe, refused: open again
    assert circuit.state(name) == circuit.OPEN

    first.recover()
    back_at = time.monotonic()
    recovering = []
    deadline = time.monotonic() + 40
    while circuit.state(name) != circuit.CLOSED and time.monotonic() < deadline:
        recovering += settle(stream(user, 2, "recovering"))
        time.sleep(0.5)
    assert circuit.state(name) == circuit.CLOSED
    assert name in made_by(recovering)  # the probe made its image

    time.sleep(max(0.0, back_at + forgets_after - time.monotonic()))  # every process tries it again
    after = settle(stream(user, 25, "recovered"))
    assert made_by(after) == {name}, list(
        Attempt.objects.filter(generation__in=after).values_list("provider", "code")
    )
    assert value(scraped(), "zimage_circuit_state", provider=name) == 0  # closed again
    return made + failing + straight + refused + recovering + after


def assert_charged_once(user, gens) -> None:
    captures = CreditEntry.objects.filter(generation__in=gens, kind=CreditEntry.Kind.CAPTURE)
    assert captures.values("generation").annotate(n=Count("pk")).filter(n__gt=1).count() == 0
    assert captures.count() == len(gens)
    assert ledger.balance(user=user) == ledger.Balance(available=400 - 2 * len(gens), held=0)
    assert ledger.ledger_problems() == []
    # exactly one call made each image; the failed ones cost nothing
    ok = Attempt.objects.filter(generation__in=gens, code="ok")
    assert ok.count() == len(gens)
    assert not Attempt.objects.filter(generation__in=gens).exclude(code="ok").exclude(cost=0).exists()


def test_dashscope_fails_then_recovers_behind_the_next_provider(
    routed, consumer, fake_env, monkeypatch, scraped
):
    flaky = Flaky(dashscope.DashScopeHandler)
    try:
        env = {"DASHSCOPE_BASE_URL": flaky.url, "DASHSCOPE_API_KEY": dashscope.API_KEY}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        consumer(env={**env, **fake_env("openai_compat"), **CIRCUIT_ENV, **scraped.env}, workers=4)
        gens = outage_then_recovery(routed, flaky, "dashscope", "openai_compat", scraped)
    finally:
        flaky.close()
    assert_charged_once(routed, gens)


def test_gpu_worker_down_sends_traffic_to_dashscope(routed, consumer, fake_env, monkeypatch, scraped):
    flaky = Flaky(gpu_worker.GpuWorkerHandler)
    try:
        env = {"GPU_WORKER_URL": flaky.url, "GPU_WORKER_API_KEY": gpu_worker.API_KEY}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        consumer(env={**env, **fake_env("dashscope"), **CIRCUIT_ENV, **scraped.env}, workers=4)
        gens = outage_then_recovery(
            routed, flaky, "gpu_worker", "dashscope", scraped, forgets_after=SKIP_SECONDS
        )
    finally:
        flaky.close()
    assert_charged_once(routed, gens)
