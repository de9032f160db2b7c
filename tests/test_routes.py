"""Routes, fallback, attempt records, the circuit breaker, provider health
and where the DashScope key comes from; run in-process against the fakes
(tests/test_route_fallback.py runs an outage through real consumers)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from generations.billing import ledger
from generations.lifecycle import circuit, pipeline, services
from generations.models import (
    Attempt,
    Generation,
    PriceRule,
    ProviderCircuit,
    ProviderConfig,
    ProviderRoute,
)
from generations.providers import InvalidRequest
from generations.providers.registry import REGISTRY, provider_settings
from tests.conftest import make_user


@pytest.fixture(autouse=True)
def fresh_config(settings, db):
    settings.CONFIG_CACHE_SECONDS = 0
    settings.CIRCUIT_FAILURES = 2
    settings.CIRCUIT_COOLDOWN = 60
    yield
    for name in REGISTRY:  # Redis outlives the test database
        circuit.reset(name)


@pytest.fixture
def two(fake_env, fake_servers):
    """DashScope and the OpenAI-compatible fake configured: the default route
    is dashscope, then openai_compat. DashScope's outage is undone after."""
    fake_env("dashscope")
    fake_env("openai_compat")
    yield fake_servers
    fake_servers["dashscope"].outage = False


def create(user, **kw):
    return services.generation_create(
        user=user, **{"prompt": "a red fox in snow", "width": 1024, "height": 1024, **kw}
    )


def run(gen) -> Generation:
    """Run it until it ends or waits out a backoff (a fallback re-queues it at once)."""
    for _ in range(4):
        pipeline.generation_run(generation_id=gen.pk)
        gen.refresh_from_db()
        if gen.is_finished or gen.run_after:
            break
    return gen


def calls(gen) -> list[tuple[str, str]]:
    return [(a.provider, a.code) for a in gen.attempt_records.all()]


def test_out_of_the_box_only_the_demo_is_the_route(owner):
    gen = create(owner)
    assert (gen.provider, gen.route) == ("demo", "z-image-turbo")


def test_the_default_route_prefers_real_providers_and_never_falls_back_to_the_demo(owner, two):
    gen = create(owner)
    assert (gen.provider, gen.route) == ("dashscope", "z-image-turbo")
    two["dashscope"].outage = True
    two["openai_compat"].outage = True
    try:
        gen = run(gen)
    finally:
        two["openai_compat"].outage = False
    # both real providers failed once; the demo's placeholder is never a fallback
    assert calls(gen) == [("dashscope", "InternalError"), ("openai_compat", "server_error")]
    assert (gen.status, gen.provider) == ("queued", "openai_compat") and gen.run_after  # backs off


def test_a_retryable_failure_falls_back_and_the_image_is_made_by_the_next(owner, two):
    two["dashscope"].outage = True
    gen = run(create(owner))
    assert gen.status == "succeeded", gen.error_message
    assert gen.provider == "openai_compat"
    assert calls(gen) == [("dashscope", "InternalError"), ("openai_compat", "ok")]
    assert ledger.balance(user=owner) == ledger.Balance(available=98, held=0)
    assert ledger.ledger_problems() == []


def test_a_fallback_never_takes_a_limited_account_to_a_provider_it_may_not_use(owner, two):
    account = ledger.account_for(owner)
    account.allowed_providers = ["dashscope"]
    account.save()
    two["dashscope"].outage = True
    gen = run(create(owner))
    assert calls(gen) == [("dashscope", "InternalError")]  # not carried on to openai_compat
    assert (gen.status, gen.provider) == ("queued", "dashscope") and gen.run_after  # backs off
    assert ledger.balance(user=owner).held == 2


def test_a_permanent_error_does_not_move(owner, two):
    gen = run(create(owner, prompt="a fox [error:DataInspectionFailed]"))
    assert (gen.status, gen.error_code, gen.provider) == ("failed", "DataInspectionFailed", "dashscope")
    assert calls(gen) == [("dashscope", "DataInspectionFailed")]
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_naming_a_provider_disables_fallback(owner, two):
    two["dashscope"].outage = True
    gen = run(create(owner, provider="dashscope"))
    assert (gen.status, gen.provider, gen.route) == (
        "queued",
        "dashscope",
        "",
    )  # retried later, same provider
    assert calls(gen) == [("dashscope", "InternalError")]


def test_an_open_circuit_sends_new_generations_straight_to_the_next(owner, two):
    two["dashscope"].outage = True
    for _ in range(2):
        run(create(owner))
    assert circuit.state("dashscope") == circuit.OPEN
    gen = create(owner)
    assert gen.provider == "openai_compat"
    queued_before = create(owner, provider=None)
    Generation.objects.filter(pk=queued_before.pk).update(provider="dashscope")  # queued before it opened
    assert calls(run(queued_before)) == [("openai_compat", "ok")]  # no call to dashscope


def test_a_fallback_takes_a_slot_of_the_next_provider(owner, two):
    ProviderConfig.objects.create(name="openai_compat", max_concurrency=1)
    two["dashscope"].outage = True
    gen = run(create(owner))
    assert (gen.status, gen.provider) == ("succeeded", "openai_compat")
    assert calls(gen)[-1] == ("openai_compat", "ok")


def test_an_admin_route_sets_order_and_weights_pick_the_start(owner, two):
    ProviderRoute.objects.create(name="z-image-turbo", providers="openai_compat=1, dashscope")
    assert {create(owner).provider for _ in range(3)} == {"openai_compat"}
    ProviderRoute.objects.create(name="cheap", providers="dashscope")
    gen = create(owner, route="cheap")
    assert (gen.provider, gen.route) == ("dashscope", "cheap")
    with pytest.raises(InvalidRequest, match="nowhere"):
        create(owner, route="nowhere")


def test_a_route_skips_a_provider_that_cannot_take_the_parameters(owner, two, fake_env):
    fake_env("aimlapi")
    ProviderRoute.objects.create(name="z-image-turbo", providers="aimlapi, dashscope")
    assert create(owner, seed=0).provider == "dashscope"  # the AIML API takes seeds from 1
    assert create(owner, seed=1).provider == "aimlapi"
    assert create(owner, prompt="x" * 1200).provider == "aimlapi"  # DashScope takes 800 characters
    with pytest.raises(InvalidRequest, match="4000"):
        create(owner, prompt="x" * 4100)  # neither takes it: the first one's reason


def test_the_route_price_is_its_first_providers_price_whoever_makes_it(owner, two):
    PriceRule.objects.create(provider="dashscope", max_megapixels=4, credits=5, provider_cost=Decimal("0.03"))
    PriceRule.objects.create(
        provider="openai_compat", max_megapixels=4, credits=9, provider_cost=Decimal("0.05")
    )
    two["dashscope"].outage = True
    gen = run(create(owner))
    assert (gen.provider, gen.credits_cost) == ("openai_compat", 5)
    costs = [(a.provider, a.cost) for a in gen.attempt_records.all()]
    assert costs == [("dashscope", Decimal(0)), ("openai_compat", Decimal("0.05"))]
    assert ledger.balance(user=owner) == ledger.Balance(available=95, held=0)


def test_the_circuit_opens_lets_one_probe_through_and_closes(db, settings):
    settings.REDIS_URL = ""  # the database's circuit (Redis's: the test below)
    assert circuit.allow("dashscope")
    circuit.record("dashscope", ok=False)
    assert circuit.state("dashscope") == circuit.CLOSED
    circuit.record("dashscope", ok=False)
    assert circuit.state("dashscope") == circuit.OPEN and not circuit.allow("dashscope")
    ProviderCircuit.objects.update(opened_at=timezone.now() - timedelta(seconds=61))
    assert circuit.allow("dashscope")  # the probe
    assert not circuit.allow("dashscope")  # one only
    circuit.record("dashscope", ok=False)  # the probe failed: open again
    assert circuit.state("dashscope") == circuit.OPEN
    ProviderCircuit.objects.update(opened_at=timezone.now() - timedelta(seconds=61))
    assert circuit.allow("dashscope")
    circuit.record("dashscope", ok=True)
    assert circuit.state("dashscope") == circuit.CLOSED and circuit.allow("dashscope")


def test_successes_between_failures_keep_it_closed(db):
    for _ in range(3):
        circuit.record("aimlapi", ok=False)
        circuit.record("aimlapi", ok=True)
    assert circuit.state("aimlapi") == circuit.CLOSED


def redis_url() -> str | None:
    import redis

    url = "redis://127.0.0.1:6379/8"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception:
        return None
    return url


def test_the_circuit_is_shared_through_redis_when_there_is_one(db, settings, monkeypatch):
    url = redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379")
    import time

    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"routes-test-{time.time()}",
        }
    }
    circuit.record("zimageturbo", ok=False)
    circuit.record("zimageturbo", ok=False)
    assert circuit.state("zimageturbo") == circuit.OPEN
    assert not ProviderCircuit.objects.exists()  # nothing in the database
    clock = time.time() + 61
    monkeypatch.setattr(circuit.time, "time", lambda: clock)
    assert circuit.allow("zimageturbo") and not circuit.allow("zimageturbo")
    circuit.record("zimageturbo", ok=True)
    assert circuit.state("zimageturbo") == circuit.CLOSED


def test_providers_api_shows_health(owner, two):
    gen = create(owner)
    now = timezone.now()
    for seconds, code in [(1.0, "ok"), (2.0, "ok"), (3.0, "InternalError")]:
        Attempt.objects.create(generation=gen, provider="dashscope", code=code, at=now, seconds=seconds)
    client = APIClient()
    client.force_authenticate(owner)
    found = {p["name"]: p["health"] for p in client.get(reverse("api:providers")).json()}
    assert found["dashscope"]["status"] == "degraded"  # a third failed
    assert (found["dashscope"]["latency_p50"], found["dashscope"]["latency_p95"]) == (2.0, 3.0)
    assert found["openai_compat"] == {
        "status": "ok",
        "circuit": "closed",
        "calls": 0,
        "errors": 0,
        "error_rate": 0.0,
        "latency_p50": None,
        "latency_p95": None,
    }
    for _ in range(2):
        circuit.record("dashscope", ok=False)
    found = {p["name"]: p["health"] for p in client.get(reverse("api:providers")).json()}
    assert found["dashscope"]["status"] == "down"


def test_the_api_shows_the_attempts_to_the_owner_only(owner, other, two):
    two["dashscope"].outage = True
    gen = run(create(owner))
    client = APIClient()
    client.force_authenticate(owner)
    body = client.get(reverse("api:generation-detail", args=[gen.pk])).json()
    assert body["route"] == "z-image-turbo" and body["provider"] == "openai_compat"
    assert [(a["provider"], a["code"]) for a in body["attempts"]] == calls(gen)
    client.force_authenticate(other)
    assert client.get(reverse("api:generation-detail", args=[gen.pk])).status_code == 404


def test_the_detail_page_lists_the_calls(client, owner, two):
    two["dashscope"].outage = True
    gen = run(create(owner))
    client.force_login(owner)
    page = client.get(reverse("generation_detail", args=[gen.pk])).content.decode()
    assert 'data-provider="dashscope"' in page and "InternalError" in page
    assert 'data-provider="openai_compat"' in page


@pytest.fixture
def credentials_file(db, tmp_path, monkeypatch):
    path = tmp_path / "credentials"
    path.write_text("[default]\ndashscope_api_key = sk-from-file\n[other]\ndashscope_api_key = sk-other\n")
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(path))
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    return path


def test_the_dashscope_key_may_come_from_the_credentials_file(db, credentials_file, monkeypatch):
    found = provider_settings("dashscope")
    assert (found.api_key, found.api_key_source) == ("sk-from-file", "~/.alibabacloud/credentials")
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "other")
    credentials_file.write_text("[other]\ndashscope_api_key = sk-other\n")  # a change is read again
    assert provider_settings("dashscope").api_key == "sk-other"
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")  # the environment comes first
    found = provider_settings("dashscope")
    assert (found.api_key, found.api_key_source) == ("sk-from-env", "environment (DASHSCOPE_API_KEY)")
    assert provider_settings("aimlapi").api_key_source == ""  # only DashScope reads the file


def test_a_broken_credentials_file_is_no_key(db, credentials_file):
    credentials_file.write_text("not an ini file at all")
    assert provider_settings("dashscope").api_key == ""


def test_the_admin_and_the_staff_page_show_the_key_source_never_the_key(client, credentials_file):
    ProviderConfig.objects.create(name="dashscope")
    viewer = make_user("viewer", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_providerconfig"))
    client.force_login(viewer)
    for url in (reverse("admin:generations_providerconfig_changelist"), reverse("staff_providers")):
        page = client.get(url).content.decode()
        assert "~/.alibabacloud/credentials" in page and "sk-from-file" not in page
    assert "dashscope" in client.get(reverse("staff_providers")).content.decode()


def test_the_staff_providers_page_needs_its_permission(client, owner):
    client.force_login(make_user("plainstaff", is_staff=True))
    assert client.get(reverse("staff_providers")).status_code == 403
    client.force_login(owner)
    assert client.get(reverse("staff_providers")).status_code == 302  # to the admin's sign-in


def test_a_route_names_known_providers_only(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="nowhere"):
        ProviderRoute(name="x", providers="dashscope, nowhere").full_clean()
    with pytest.raises(ValidationError, match="weight"):
        ProviderRoute(name="x", providers="dashscope=fast").full_clean()
    ProviderRoute(name="x", providers="dashscope=2, aimlapi").full_clean()


def test_the_usage_report_shows_what_each_provider_really_cost(client, owner, two):
    PriceRule.objects.create(
        provider="openai_compat", max_megapixels=4, credits=2, provider_cost=Decimal("0.05")
    )
    two["dashscope"].outage = True
    run(create(owner))
    staff = make_user("reporter", is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_generation"))
    client.force_login(staff)
    page = client.get(reverse("staff_usage")).content.decode()
    assert "<td>dashscope</td><td>1</td><td>1</td><td>0</td><td>0.0000</td>" in page
    assert "<td>openai_compat</td><td>1</td><td>0</td><td>1</td><td>0.0500</td>" in page


def test_the_generate_form_starts_on_automatic_and_that_is_the_route(client, owner, two):
    client.force_login(owner)
    page = client.get(reverse("home")).content.decode()
    assert '<option value="" selected>' in page and "Automatic" in page
    client.post(reverse("home"), {"prompt": "a fox", "provider": "", "size": "1024x1024"})
    made = Generation.objects.get()
    assert (made.provider, made.route) == ("dashscope", "z-image-turbo")
    client.post(reverse("home"), {"prompt": "a fox", "provider": "demo", "size": "1024x1024"})
    assert Generation.objects.filter(provider="demo", route="").exists()  # named: no fallback


def test_the_rest_api_creates_on_a_named_route_and_refuses_an_unknown_one(owner, two):
    ProviderRoute.objects.create(name="cheap", providers="openai_compat")
    client = APIClient()
    client.force_authenticate(owner)
    url = reverse("api:generation-list")
    made = client.post(url, {"prompt": "a fox", "route": "cheap"}, format="json").json()
    assert (made["provider"], made["route"]) == ("openai_compat", "cheap")
    quoted = client.post(reverse("api:quote"), {"prompt": "a fox", "route": "cheap"}, format="json").json()
    assert quoted["provider"] == "openai_compat"
    refused = client.post(url, {"prompt": "a fox", "route": "nowhere"}, format="json")
    assert refused.status_code == 400 and "nowhere" in refused.content.decode()
    assert Generation.objects.count() == 1
