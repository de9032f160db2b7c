"""The generation workflow run in-process (the consumer tests run it for real)."""

import hashlib

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from generations.billing import ledger
from generations.lifecycle import pipeline, services, status, store
from generations.models import CreditEntry, Generation
from generations.providers import InvalidRequest
from generations.providers.demo import render


def create(user, **kw):
    args = {"prompt": "a red fox in snow", "width": 1024, "height": 1024, "provider": "demo"}
    return services.generation_create(user=user, **{**args, **kw})


def test_it_prices_and_holds_at_create(owner):
    gen = create(owner, prompt_extend=True)
    assert gen.status == "queued" and gen.credits_cost == 3
    assert ledger.balance(user=owner) == ledger.Balance(available=97, held=3)
    assert gen.seed is None and 0 <= gen.seed_used < 2**31  # picked so it can be made again


def test_it_runs_a_demo_generation_to_a_stored_image(owner):
    gen = create(owner, seed=7)
    pipeline.generation_run(generation_id=gen.pk)
    gen.refresh_from_db()
    assert gen.status == "succeeded", gen.error_message
    expected = render("a red fox in snow", 1024, 1024, 7)
    with default_storage.open(gen.image.name) as f:
        assert f.read() == expected
    assert gen.sha256 == hashlib.sha256(expected).hexdigest()
    assert (gen.image_width, gen.image_height, gen.image_bytes) == (1024, 1024, len(expected))
    assert gen.image.name == f"generations/{owner.pk}/{gen.created_at:%Y/%m}/{gen.pk}.png"
    assert default_storage.exists(gen.thumbnail.name) and gen.thumbnail.name.endswith(".webp")
    assert ledger.balance(user=owner) == ledger.Balance(available=98, held=0)
    assert ledger.ledger_problems() == []


def test_it_fails_and_refunds_a_provider_error(owner):
    gen = create(owner, prompt="please [demo-fail]")
    pipeline.generation_run(generation_id=gen.pk)
    gen.refresh_from_db()
    assert (gen.status, gen.error_code) == ("failed", "DemoFailure")
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    kinds = sorted(CreditEntry.objects.filter(generation=gen).values_list("kind", flat=True))
    assert kinds == ["hold", "release"]


def test_running_twice_charges_and_stores_once(owner):
    gen = create(owner)
    pipeline.generation_run(generation_id=gen.pk)
    assert pipeline.generation_run(generation_id=gen.pk) is None
    assert CreditEntry.objects.filter(generation=gen).count() == 2
    assert ledger.ledger_problems() == []


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"prompt": "   "}, "prompt"),
        ({"width": 4096, "height": 4096}, "size"),
        ({"provider": "nope"}, "provider"),
        ({"provider": "dashscope"}, "provider"),  # no key in the environment
    ],
)
def test_bad_input_is_refused_before_anything_is_written(owner, kwargs, field):
    entries = CreditEntry.objects.count()
    with pytest.raises(InvalidRequest) as info:
        create(owner, **kwargs)
    assert info.value.field == field
    assert Generation.objects.count() == 0 and CreditEntry.objects.count() == entries


def test_short_credits_write_nothing(owner):
    ledger.adjust(user=owner, amount=-99, actor=None, note="spend it")
    with pytest.raises(ledger.InsufficientCredits):
        create(owner)
    assert Generation.objects.count() == 0


def test_the_concurrency_limit_is_enforced_at_create(owner):
    ledger.account_for(owner).__class__.objects.filter(user=owner).update(max_concurrent=1)
    create(owner)
    with pytest.raises(services.LimitExceeded, match="1 generations in progress"):
        create(owner)


def test_cancel_releases_a_queued_generation_at_once(owner):
    gen = create(owner)
    assert status.generation_cancel(generation=gen)
    gen.refresh_from_db()
    assert gen.status == "canceled"
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    pipeline.generation_run(generation_id=gen.pk)  # a task already queued does nothing
    gen.refresh_from_db()
    assert gen.status == "canceled" and not gen.image


def test_the_demo_is_the_default_without_keys_and_dashscope_with_one(owner, monkeypatch):
    assert create(owner, provider=None).provider == "demo"
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-x")
    assert create(owner, provider=None).provider == "dashscope"


def test_a_cancel_during_a_retryable_error_stops_the_retries(owner, monkeypatch):
    from generations.providers import ProviderError
    from generations.providers.demo import DemoProvider

    gen = create(owner)

    def throttled(self, req):
        status.generation_cancel(generation=gen)  # the owner cancels mid-call
        raise ProviderError("Throttling", "slow down", retryable=True)

    monkeypatch.setattr(DemoProvider, "generate", throttled)
    assert pipeline.generation_run(generation_id=gen.pk) is None  # no retry scheduled
    gen.refresh_from_db()
    assert gen.status == "canceled"
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_what_the_owner_changes_during_the_provider_call_is_kept(owner, monkeypatch):
    from generations.providers.demo import DemoProvider

    gen = create(owner)
    real = DemoProvider.generate

    def slow_call(self, req):  # the owner trashes and shares it while the provider works
        Generation.objects.filter(pk=gen.pk).update(deleted_at=timezone.now(), shared_with_team=True)
        return real(self, req)

    monkeypatch.setattr(DemoProvider, "generate", slow_call)
    pipeline.generation_run(generation_id=gen.pk)
    gen.refresh_from_db()
    assert gen.status == "succeeded" and gen.deleted_at is not None and gen.shared_with_team


def test_a_cancel_during_the_call_discards_an_image_in_hand(owner, monkeypatch):
    from generations.providers.demo import DemoProvider

    gen = create(owner)
    real = DemoProvider.generate

    def canceled_meanwhile(self, req):
        status.generation_cancel(generation=gen)
        return real(self, req)

    monkeypatch.setattr(DemoProvider, "generate", canceled_meanwhile)
    pipeline.generation_run(generation_id=gen.pk)
    gen.refresh_from_db()
    assert gen.status == "canceled" and not gen.image
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    assert not default_storage.exists(f"{store.storage_base_name(gen)}.png")  # not kept


def test_an_image_in_hand_is_stored_without_a_stash_in_the_database(owner, monkeypatch):
    from generations.models import PendingImage

    stashed = []
    monkeypatch.setattr(PendingImage.objects, "update_or_create", lambda **kw: stashed.append(kw))
    gen = create(owner)
    pipeline.generation_run(generation_id=gen.pk)
    gen.refresh_from_db()
    assert gen.status == "succeeded" and default_storage.exists(gen.image.name)
    assert stashed == []


def test_a_crash_while_storing_fails_and_refunds_instead_of_leaving_it_in_flight(owner, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("a bug in the copy")

    monkeypatch.setattr(store, "store_image", crash)
    gen = create(owner)
    pipeline.generation_run(generation_id=gen.pk)  # bytes in hand (demo): stored first
    gen.refresh_from_db()
    assert (gen.status, gen.error_code) == ("failed", "InternalError")
    assert "credits were returned" in gen.error_message
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


@pytest.mark.postgres
@pytest.mark.skipif(not settings.IS_POSTGRES, reason="the one-statement success is PostgreSQL's")
def test_a_copy_of_a_recorded_url_succeeds_and_captures_in_one_statement(owner):
    """A worker's copy of a provider URL ends in credits_fast's one statement:
    stored, succeeded and charged once; the ledger balances."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.fakes.server import FakeHandler, FakeServer, png_bytes

    gen = create(owner)
    with FakeServer(FakeHandler) as server:
        url = server.add_image("made.png", png_bytes(1024, 1024, "made"))
        Generation.objects.filter(pk=gen.pk).update(status="storing", source_url=url)
        with CaptureQueriesContext(connection) as queries:
            assert store.generation_store(generation_id=gen.pk) is None
    writes = [q["sql"] for q in queries if "generations_creditentry" in q["sql"]]
    assert len(writes) == 1 and 'UPDATE "generations_generation"' in writes[0]
    gen.refresh_from_db()
    assert gen.status == "succeeded" and default_storage.exists(gen.image.name) and gen.thumbnail
    assert [e.kind for e in CreditEntry.objects.filter(generation=gen).order_by("pk")] == ["hold", "capture"]
    assert ledger.balance(user=owner).held == 0 and ledger.ledger_problems() == []


@pytest.mark.parametrize("provider", ["demo", "dashscope"])  # bytes in hand; a URL copied
def test_a_run_in_the_web_process_leaves_the_row_as_stored_for_its_answer(owner, dashscope_env, provider):
    """The OpenAI endpoint answers from the generation it ran, unread: it must
    hold the stored image's fields, or the signed S3 link has no object name."""
    gen = services.generation_create(
        user=owner, prompt="a fox", width=1024, height=1024, provider=provider, claim=True
    )
    pipeline.generation_run_now(generation=gen)
    stored = Generation.objects.get(pk=gen.pk)
    assert gen.status == stored.status == "succeeded"
    assert gen.image.name == stored.image.name != ""
    assert (gen.image_width, gen.sha256, gen.finished_at) == (
        stored.image_width,
        stored.sha256,
        stored.finished_at,
    )
