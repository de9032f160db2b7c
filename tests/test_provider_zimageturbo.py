"""zimageturbo.ai: the wire format, and the submit+poll workflow in-process."""

import time

import pytest

from generations.billing import ledger
from generations.lifecycle import pipeline, services, status
from generations.providers import GenerationRequest, InvalidRequest, ProviderError, ProviderSettings
from generations.providers.zimageturbo import ZImageTurboProvider
from tests.fakes.zimageturbo import API_KEY, CONSUMED_CREDITS, SIZES


@pytest.fixture
def server(fake_servers):
    fake_servers["zimageturbo"].reset()
    return fake_servers["zimageturbo"]


@pytest.fixture
def provider(server):
    return ZImageTurboProvider(ProviderSettings(base_url=server.url, api_key=API_KEY, timeout=5))


def req(prompt="a neon street at night", **kw):
    return GenerationRequest(prompt=prompt, width=kw.pop("width", 1280), height=kw.pop("height", 720), **kw)


def test_it_submits_the_prompt_and_the_aspect_ratio(provider, server):
    task_id = provider.submit(req())
    sent = server.requests[-1]
    assert (sent["method"], sent["path"]) == ("POST", "/api/generate")
    assert sent["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert sent["body"] == {"prompt": "a neon street at night", "aspect_ratio": "16:9"}
    assert task_id.startswith("task_")


def test_it_polls_until_the_task_succeeds(provider, server):
    task_id = provider.submit(req(prompt="x [pending:0.3]"))
    assert provider.poll(task_id) is None  # IN_PROGRESS
    assert server.requests[-1]["method"] == "GET" and server.requests[-1]["path"] == "/api/status"
    time.sleep(0.35)
    result = provider.poll(task_id)
    assert result.image_url.startswith(server.url + "/images/") and result.url_expires_at
    assert result.request_id == task_id and result.cost == {"consumed_credits": CONSUMED_CREDITS}
    assert result.seed is None  # the service says "-1": random, not recorded


def test_it_ends_a_failed_task_with_the_services_reason(provider):
    task_id = provider.submit(req(prompt="x [fail:nsfw content]"))
    with pytest.raises(ProviderError) as info:
        provider.poll(task_id)
    assert (info.value.code, info.value.retryable) == ("GenerationFailed", False)
    assert "(nsfw content)" in info.value.message


@pytest.mark.parametrize(
    "status, retryable, words",
    [(401, False, "API key"), (402, False, "no balance left"), (429, True, "rate limiting")],
)
def test_it_maps_the_documented_errors(provider, status, retryable, words):
    with pytest.raises(ProviderError) as info:
        provider.submit(req(prompt=f"x [error:{status}]"))
    assert (info.value.code, info.value.retryable) == (f"HTTP{status}", retryable)
    assert words in info.value.message


def test_it_calls_a_garbage_status_answer_a_bad_response(provider):
    task_id = provider.submit(req(prompt="x [poll_garbage]"))
    with pytest.raises(ProviderError) as info:
        provider.poll(task_id)
    assert (info.value.code, info.value.retryable) == ("BadResponse", False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"width": 1024, "height": 1536}, "not one of this provider's aspect ratios"),
        ({"seed": 1}, "does not accept a seed"),
        ({"prompt_extend": True}, "cannot rewrite prompts"),
        ({"prompt": "x" * 1001}, "at most 1000"),
    ],
)
def test_it_refuses_what_it_cannot_do(kwargs, message):
    with pytest.raises(InvalidRequest, match=message):
        ZImageTurboProvider.capabilities.validate(req(**kwargs))


def create(user, prompt="a neon street", size=(1280, 720)):
    return services.generation_create(
        user=user, provider="zimageturbo", prompt=prompt, width=size[0], height=size[1]
    )


def test_run_submits_and_leaves_the_waiting_to_polls(owner, fake_env, settings):
    fake_env("zimageturbo")
    settings.PROVIDER_POLL_INITIAL = 1.5
    gen = create(owner, "x [pending:30]")
    assert gen.seed_used is None  # no seed control here
    assert pipeline.generation_run(generation_id=gen.pk) is None  # returned at once
    gen.refresh_from_db()
    assert gen.status == "running" and gen.request_id.startswith("task_")
    assert pipeline.generation_poll(generation_id=gen.pk) == 1.5  # still IN_PROGRESS


def test_polls_record_the_real_size_the_service_picked(owner, fake_env):
    fake_env("zimageturbo")
    gen = create(owner)
    pipeline.generation_run(generation_id=gen.pk)
    assert pipeline.generation_poll(generation_id=gen.pk) is None
    gen.refresh_from_db()
    assert gen.status == "succeeded", gen.error_message
    assert (gen.width, gen.height) == (1280, 720)  # what was asked (and priced)
    assert (gen.image_width, gen.image_height) == SIZES["16:9"]  # what was made
    assert gen.provider_cost == {"consumed_credits": CONSUMED_CREDITS}


@pytest.mark.parametrize(
    "prompt, code", [("x [fail:moderation]", "GenerationFailed"), ("x [poll_error:402]", "HTTP402")]
)
def test_a_failed_task_fails_and_refunds(owner, fake_env, prompt, code):
    fake_env("zimageturbo")
    gen = create(owner, prompt)
    pipeline.generation_run(generation_id=gen.pk)
    assert pipeline.generation_poll(generation_id=gen.pk) is None
    gen.refresh_from_db()
    assert (gen.status, gen.error_code) == ("failed", code)
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_a_rate_limited_poll_asks_again_later(owner, fake_env, settings):
    fake_env("zimageturbo")
    settings.PROVIDER_POLL_INITIAL = 0.5
    gen = create(owner, "x [poll_error:429] [times:1] [retry_after:4]")
    pipeline.generation_run(generation_id=gen.pk)
    assert pipeline.generation_poll(generation_id=gen.pk) == 4  # Retry-After honoured
    assert pipeline.generation_poll(generation_id=gen.pk) is None
    gen.refresh_from_db()
    assert gen.status == "succeeded", gen.error_message


def test_a_task_that_never_finishes_times_out_and_refunds(owner, fake_env, settings):
    fake_env("zimageturbo")
    settings.PROVIDER_POLL_TIMEOUT = 0
    gen = create(owner, "x [pending:60]")
    pipeline.generation_run(generation_id=gen.pk)
    assert pipeline.generation_poll(generation_id=gen.pk) is None
    gen.refresh_from_db()
    assert (gen.status, gen.error_code) == ("failed", "Timeout")
    assert "did not finish within 0 seconds" in gen.error_message
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_a_result_for_a_generation_reaped_meanwhile_is_not_charged(owner, fake_env, monkeypatch):
    fake_env("zimageturbo")
    gen = create(owner)
    pipeline.generation_run(generation_id=gen.pk)
    poll = ZImageTurboProvider.poll

    def reaped_during_the_call(self, task_id):
        status.generation_fail(generation=gen, code="WorkerLost", message="reaped")
        return poll(self, task_id)

    monkeypatch.setattr(ZImageTurboProvider, "poll", reaped_during_the_call)
    assert pipeline.generation_poll(generation_id=gen.pk) is None
    gen.refresh_from_db()
    assert (gen.status, gen.error_code, gen.image.name) == ("failed", "WorkerLost", "")
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    assert ledger.ledger_problems() == []
