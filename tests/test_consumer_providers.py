"""Every provider end to end through a real Huey consumer and its fake server."""

import io

import pytest
from django.core.management import call_command

from generations.billing import ledger
from generations.lifecycle import services
from generations.models import CreditEntry
from generations.providers.registry import REGISTRY
from tests.fakes import FAKES
from tests.fakes.openai_compat import PATH as OPENAI_PATH
from tests.fakes.zimageturbo import SIZES
from tests.helpers import wait_finished, wait_for

pytestmark = pytest.mark.slow
FAST = {"PROVIDER_RETRY_BASE": "0.2", "PROVIDER_POLL_INITIAL": "0.2", "PROVIDER_POLL_MAX_INTERVAL": "1"}
NAMES = sorted(FAKES)


def create(user, provider, prompt, size=None):
    width, height = size or REGISTRY[provider].capabilities.presets[0]
    return services.generation_create(user=user, provider=provider, prompt=prompt, width=width, height=height)


@pytest.mark.parametrize("name", NAMES)
def test_each_provider_end_to_end(name, owner, consumer, fake_env):
    """The generate command works; each documented error ends the generation
    failed with its code and the credits released; throttling recovers."""
    consumer(env={**fake_env(name), **FAST})
    fake = FAKES[name]
    permanent = {marker: code for marker, (code, retryable) in fake.ERRORS.items() if not retryable}
    failing = {marker: create(owner, name, f"fox {marker}") for marker in permanent}
    throttled = create(owner, name, f"fox {fake.THROTTLE} [times:2]")
    out = io.StringIO()
    width, height = REGISTRY[name].capabilities.presets[0]
    call_command(
        "generate",
        "a lighthouse at dusk",
        provider=name,
        size=f"{width}x{height}",
        user=owner.username,
        wait=True,
        timeout=60,
        stdout=out,
    )
    assert "succeeded" in out.getvalue() and "stored:" in out.getvalue()
    for marker, gen in failing.items():
        wait_finished(gen)
        assert (gen.status, gen.error_code, gen.attempts) == ("failed", permanent[marker], 1)
        assert gen.error_message
        assert sorted(CreditEntry.objects.filter(generation=gen).values_list("kind", flat=True)) == [
            "hold",
            "release",
        ]
    wait_finished(throttled)
    assert (throttled.status, throttled.attempts) == ("succeeded", 3), throttled.error_message
    spent = sum(g.credits_cost for g in owner.generations.filter(status="succeeded"))
    assert ledger.balance(user=owner) == ledger.Balance(available=100 - spent, held=0)
    assert ledger.ledger_problems() == []


def test_a_throttled_call_waits_what_retry_after_says(owner, consumer, fake_env, fake_servers):
    consumer(env={**fake_env("openai_compat"), "PROVIDER_RETRY_BASE": "0.1"})
    gen = wait_finished(
        create(owner, "openai_compat", "x [error:rate_limit_exceeded] [times:1] [retry_after:1.5]")
    )
    assert (gen.status, gen.attempts) == ("succeeded", 2), gen.error_message
    calls = [r["at"] for r in fake_servers["openai_compat"].requests if r["path"] == OPENAI_PATH]
    assert len(calls) == 2 and calls[1] - calls[0] >= 1.5


def test_a_polled_task_does_not_hold_the_only_worker(owner, consumer, fake_env, fake_servers):
    consumer(env={**fake_env("zimageturbo"), **FAST}, workers=1)
    slow = create(owner, "zimageturbo", "a slow one [pending:3]", size=(1280, 720))

    def submitted():
        slow.refresh_from_db()
        return slow.request_id

    wait_for(submitted, timeout=20, what="the zimageturbo task to be submitted")
    quick = wait_finished(create(owner, "demo", "a quick one"))
    slow.refresh_from_db()
    assert (quick.status, slow.status) == ("succeeded", "running")
    wait_finished(slow)
    assert slow.status == "succeeded", slow.error_message
    assert (slow.image_width, slow.image_height) == SIZES["16:9"]
    polls = [r for r in fake_servers["zimageturbo"].requests if r["path"] == "/api/status"]
    assert len(polls) >= 3  # asked again and again, never waited on
