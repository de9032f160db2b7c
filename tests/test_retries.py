"""Retries and backoff (in-process), and asking for an aspect ratio."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from django.utils import timezone

from generations.billing import ledger
from generations.lifecycle import pipeline, services
from generations.models import Generation
from generations.providers import InvalidRequest
from generations.providers.base import retry_after_seconds


def create(user, prompt, provider="openai_compat", **kw):
    return services.generation_create(
        user=user,
        provider=provider,
        prompt=prompt,
        width=kw.pop("width", 1024),
        height=kw.pop("height", 1024),
        **kw,
    )


def test_it_waits_at_least_what_retry_after_asks(owner, fake_env, settings):
    fake_env("openai_compat")
    settings.PROVIDER_RETRY_BASE = 0.01
    gen = create(owner, "x [error:rate_limit_exceeded] [retry_after:12]")
    assert pipeline.generation_run(generation_id=gen.pk) == 12
    gen.refresh_from_db()
    assert (gen.status, gen.error_code) == ("queued", "rate_limit_exceeded")  # to be tried again


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("7", 7),
        ("0.5", 0.5),
        ("-3", 0),
        ("soon", None),
        ("", None),
        ("in 90 s", 90),
    ],
)
def test_it_reads_retry_after_as_seconds_or_a_date(value, seconds):
    if value == "in 90 s":  # an HTTP date, made when the test runs
        value = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    got = retry_after_seconds(httpx.Response(429, headers={"Retry-After": value}))
    assert got == seconds if seconds is None else abs(got - seconds) < 2


def test_backoff_grows_with_jitter_and_honours_retry_after(settings):
    settings.PROVIDER_RETRY_BASE = 2
    delays = [pipeline.backoff(attempt) for attempt in (1, 2, 3, 4) for _ in range(20)]
    assert all(1 <= d <= 2 for d in delays[:20]) and all(8 <= d <= 16 for d in delays[60:])
    assert len(set(delays)) > 70  # jittered, not in lock step
    assert pipeline.backoff(1, retry_after=30) == 30


def test_it_stops_retrying_at_the_attempt_bound(owner, fake_env, settings):
    fake_env("openai_compat")
    settings.PROVIDER_RETRY_BASE, settings.PROVIDER_MAX_ATTEMPTS = 0.01, 2
    gen = create(owner, "x [error:server_error]")
    assert pipeline.generation_run(generation_id=gen.pk) is not None
    assert pipeline.generation_run(generation_id=gen.pk) is None
    gen.refresh_from_db()
    assert (gen.status, gen.error_code, gen.attempts) == ("failed", "server_error", 2)
    assert gen.error_message.endswith("Gave up after 2 attempts.")
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_it_stops_retrying_at_the_time_bound(owner, fake_env, settings):
    fake_env("openai_compat")
    settings.PROVIDER_RETRY_WINDOW = 600
    gen = create(owner, "x [error:rate_limit_exceeded] [retry_after:30]")
    Generation.objects.filter(pk=gen.pk).update(created_at=timezone.now() - timedelta(minutes=9.8))
    assert pipeline.generation_run(generation_id=gen.pk) is None  # 30 s would pass the window
    gen.refresh_from_db()
    assert (gen.status, gen.error_code, gen.attempts) == ("failed", "rate_limit_exceeded", 1)


def test_permanent_errors_are_not_retried(owner, fake_env):
    fake_env("openai_compat")
    gen = create(owner, "x [error:insufficient_quota]")
    assert pipeline.generation_run(generation_id=gen.pk) is None
    gen.refresh_from_db()
    assert (gen.status, gen.error_code, gen.attempts) == ("failed", "insufficient_quota", 1)
    assert "quota is used up" in gen.error_message


@pytest.mark.parametrize(
    "provider, ratio, size",
    [
        ("dashscope", "16:9", (1360, 768)),
        ("dashscope", "1:1", (1024, 1024)),
        ("openai_compat", "9:16", (768, 1360)),
        ("openai_compat", "3:4", (896, 1184)),
        ("aimlapi", "4:3", (1184, 896)),
        ("aimlapi", "16:9", (1536, 864)),
        ("zimageturbo", "9:16", (720, 1280)),
    ],
)
def test_it_maps_an_aspect_ratio_to_a_preset_near_one_megapixel(db, provider, ratio, size):
    assert services.size_for_aspect_ratio(provider=provider, ratio=ratio) == size


@pytest.mark.parametrize(
    "provider, ratio, message",
    [
        ("zimageturbo", "2:3", "only takes the aspect ratios 1:1, 4:3, 3:4, 16:9, 9:16"),
        ("dashscope", "21:9", "has no 21:9 size; its sizes have the ratios"),
        ("dashscope", "wide", "looks like 16:9"),
    ],
)
def test_it_refuses_an_aspect_ratio_it_has_no_size_for(db, provider, ratio, message):
    with pytest.raises(InvalidRequest, match=message) as info:
        services.size_for_aspect_ratio(provider=provider, ratio=ratio)
    assert info.value.field == "aspect_ratio"


def test_a_size_is_refused_never_changed(owner, fake_env):
    fake_env("zimageturbo")
    with pytest.raises(InvalidRequest, match="1000x900 is not one of"):
        create(owner, "x", provider="zimageturbo", width=1000, height=900)
    fake_env("aimlapi")
    with pytest.raises(InvalidRequest, match="multiples of 32; 1000 is not"):
        create(owner, "x", provider="aimlapi", width=1000, height=1000)
    assert Generation.objects.count() == 0
