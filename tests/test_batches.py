"""Batches: all-or-nothing holds, limits counted in images, refunds image by
image, cancel-the-rest, prompt lists, and fair share between users."""

import time
from uuid import uuid4

import pytest
from django.db.models import Q
from django.utils import timezone

from generations.billing import ledger, quotas
from generations.lifecycle import batches, pipeline, services, slots
from generations.lifecycle.batches import BatchItem
from generations.lifecycle.idempotency import IdempotencyConflict
from generations.models import (
    Batch,
    CreditAccount,
    CreditEntry,
    Generation,
    ProviderConfig,
    ProviderSlot,
    Team,
    TeamMembership,
)
from generations.providers import InvalidRequest
from tests.helpers import wait_for


def takes(n, prompt="a lighthouse", seed=None):
    return batches.items_repeat(prompt=prompt, width=1024, height=1024, n=n, seed=seed)


def test_a_batch_holds_every_image_at_once(owner):
    batch = batches.batch_create(user=owner, items=takes(4, seed=7), name="four takes")
    gens = list(batch.generations.order_by("batch_index"))
    assert [g.seed_used for g in gens] == [7, 8, 9, 10]
    assert [g.batch_index for g in gens] == [0, 1, 2, 3]
    assert ledger.balance(user=owner) == ledger.Balance(available=92, held=8)
    assert CreditEntry.objects.filter(generation__batch=batch, kind="hold").count() == 4
    assert ledger.ledger_problems() == []


def test_random_seeds_are_picked_per_image_and_kept(owner):
    gens = batches.batch_create(user=owner, items=takes(3)).generations.all()
    assert all(g.seed is None and g.seed_used is not None for g in gens)


def test_a_batch_the_balance_cannot_cover_is_refused_whole_naming_how_many_it_covers(owner):
    rows = (Generation.objects.count(), CreditEntry.objects.count(), Batch.objects.count())
    with pytest.raises(ledger.InsufficientCredits, match="60 images cost 120 credits .* enough for 50"):
        batches.batch_create(user=owner, items=takes(60))
    assert (Generation.objects.count(), CreditEntry.objects.count(), Batch.objects.count()) == rows
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_one_bad_item_refuses_the_batch_naming_it(owner):
    items = [*takes(2), BatchItem("too wide", 9000, 1024)]
    with pytest.raises(InvalidRequest, match="^Image 3: "):
        batches.batch_create(user=owner, items=items)
    assert not Generation.objects.exists() and ledger.balance(user=owner).held == 0


def test_a_batch_larger_than_the_maximum_is_refused(owner, settings):
    settings.BATCH_MAX_IMAGES = 5
    with pytest.raises(InvalidRequest, match="at most 5 images; this one has 6"):
        batches.batch_create(user=owner, items=takes(6))


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("max_concurrent", 3, "allows 3 generations in progress at once, so a batch of 4"),
        ("max_per_minute", 3, "at most 3 images a minute, so a batch of 4"),
        ("period_limit", 7, "These 4 images would take your spending this month above your limit of 7"),
    ],
)
def test_limits_count_images_for_the_whole_batch(owner, limit, value, message):
    CreditAccount.objects.filter(user=owner).update(**{limit: value})
    with pytest.raises(quotas.LimitExceeded, match=message):
        batches.batch_create(user=owner, items=takes(4))
    assert not Generation.objects.exists()
    batches.batch_create(user=owner, items=takes(3))  # what the limit allows passes
    assert Generation.objects.count() == 3


def test_the_in_flight_limit_counts_images_already_running(owner):
    CreditAccount.objects.filter(user=owner).update(max_concurrent=4)
    services.generation_create(user=owner, prompt="p", width=1024, height=1024)
    with pytest.raises(quotas.LimitExceeded, match="already have 1 generations in progress"):
        batches.batch_create(user=owner, items=takes(4))


def test_failed_and_canceled_images_are_refunded_one_by_one(owner):
    batch = batches.batch_create(user=owner, items=[*takes(2), BatchItem("x [demo-fail]", 1024, 1024)])
    first = batch.generations.get(batch_index=0)
    assert batches.batch_cancel(batch=batch) == {"canceled": 3}
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    assert set(batch.generations.values_list("status", flat=True)) == {"canceled"}
    assert batches.batch_cancel(batch=batch) == {}  # nothing left to cancel
    first.refresh_from_db()
    assert first.status == "canceled" and ledger.ledger_problems() == []


def test_cancel_the_rest_keeps_what_is_done_and_marks_what_runs(owner):
    batch = batches.batch_create(user=owner, items=takes(3))
    done, running, _ = batch.generations.order_by("batch_index")
    pipeline.generation_run(generation_id=done.pk)  # the demo renderer, here and now
    Generation.objects.filter(pk=running.pk).update(status="running")
    assert batches.batch_cancel(batch=batch) == {"cancel_requested": 1, "canceled": 1}
    progress = batches.batch_progress(batch)
    assert (progress.succeeded, progress.running, progress.canceled, progress.credits) == (1, 1, 1, 4)
    assert ledger.balance(user=owner).available == 96


def test_progress_counts_images_by_outcome(owner):
    batch = batches.batch_create(user=owner, items=[*takes(2), BatchItem("x [demo-fail]", 1024, 1024)])
    for gen in batch.generations.all():
        pipeline.generation_run(generation_id=gen.pk)
    progress = batches.batch_progress(batch)
    assert (progress.total, progress.succeeded, progress.failed, progress.done) == (3, 2, 1, 3)
    assert progress.finished and progress.credits == 4
    assert ledger.balance(user=owner) == ledger.Balance(available=96, held=0)
    assert ledger.ledger_problems() == []


def test_a_repeated_idempotency_key_returns_the_first_batch(owner):
    first = batches.batch_create(user=owner, items=takes(2), idempotency_key="k1")
    again = batches.batch_create(user=owner, items=takes(2), idempotency_key="k1")
    assert again.pk == first.pk and again.replayed
    assert Generation.objects.count() == 2 and ledger.balance(user=owner).held == 4
    with pytest.raises(IdempotencyConflict):
        batches.batch_create(user=owner, items=takes(3), idempotency_key="k1")


def test_a_prompt_list_in_text_csv_and_jsonl():
    text = "# product shots\na red mug\n\n  a blue vase  \n"
    prompts = [i.prompt for i in batches.items_parse(text, width=512, height=512)]
    assert prompts == ["a red mug", "a blue vase"]
    csv = 'prompt,size,seed,prompt_extend\n"a mug, red",768x1024,5,yes\na vase,,,\n'
    mug, vase = batches.items_parse(csv, width=512, height=512)
    assert mug == BatchItem("a mug, red", 768, 1024, 5, True)
    assert vase == BatchItem("a vase", 512, 512, None, False)
    jsonl = '{"prompt": "a mug", "width": 640, "height": 480}\n{"prompt": "a vase", "seed": 9}\n'
    assert batches.items_parse(jsonl, width=512, height=512, filename="list.jsonl") == [
        BatchItem("a mug", 640, 480),
        BatchItem("a vase", 512, 512, 9),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no prompts"),
        ('{"prompt": "ok"}\nnot json\n', "Line 2 is not a JSON object"),
        ("prompt,seed\na mug,five\n", "Line 2: size must look like 1024x768 and seed be a whole number"),
        ('{"seed": 3}\n', "Line 1 has no prompt"),
    ],
)
def test_a_bad_prompt_list_is_refused_naming_the_line(text, message):
    with pytest.raises(InvalidRequest, match=message):
        batches.items_parse(text, width=512, height=512)


def test_a_seed_sweep_takes_lists_and_ranges():
    assert batches.seeds_parse("1, 5, 100-103") == [1, 5, 100, 101, 102, 103]
    with pytest.raises(InvalidRequest, match="'x' is not a seed"):
        batches.seeds_parse("1, x")
    with pytest.raises(InvalidRequest, match="runs backwards"):
        batches.seeds_parse("9-3")
    with pytest.raises(InvalidRequest, match="at most 500 images"):
        batches.seeds_parse("0-100000")


# --- fair share ---------------------------------------------------------------


@pytest.fixture
def limited(monkeypatch):
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test")
    ProviderConfig.objects.create(name="dashscope", max_concurrency=2)
    return "dashscope"


def hold_slot(provider, gen):
    slot = slots.slot_take(provider, 2, uuid4())
    ProviderSlot.objects.filter(pk=slot).update(holder=gen.pk)
    Generation.objects.filter(pk=gen.pk).update(status="running", started_at=timezone.now())


def test_a_free_slot_goes_to_the_user_with_fewest_calls_not_to_the_oldest_request(owner, other, limited):
    a = batches.batch_create(user=owner, items=takes(20), provider=limited)
    b = services.generation_create(user=other, prompt="one image", width=1024, height=1024, provider=limited)
    first = slots.fair_next(limited)
    assert first.owner == owner  # both have nothing running: whoever waited longest
    hold_slot(limited, first)
    assert slots.fair_next(limited).pk == b.pk  # alice holds a slot, bob none: bob's turn
    assert a.generations.filter(status="queued").count() == 19


def test_a_users_single_request_goes_before_their_own_batch_items(owner, limited):
    batches.batch_create(user=owner, items=takes(5), provider=limited)
    single = services.generation_create(user=owner, prompt="now", width=1024, height=1024, provider=limited)
    assert slots.fair_next(limited).pk == single.pk


def test_a_retried_image_waits_out_its_backoff_in_the_queue(owner, limited):
    gen = services.generation_create(user=owner, prompt="p", width=1024, height=1024, provider=limited)
    Generation.objects.filter(pk=gen.pk).update(run_after=timezone.now() + timezone.timedelta(seconds=30))
    assert slots.fair_next(limited) is None and not slots.queue_ready(limited)


def test_a_batch_draws_from_the_team_pool_then_the_own_account_image_by_image(owner):
    team = Team.objects.create(name="studio")
    TeamMembership.objects.create(team=team, user=owner)
    pool = ledger.team_account(team)
    ledger.grant(account=pool, amount=10, note="budget")
    batch = batches.batch_create(user=owner, items=takes(54))  # 108 credits: 10 pool (first) + 98 own
    holds = CreditEntry.objects.filter(generation__batch=batch, kind="hold")
    assert holds.filter(account=pool).count() == 5 and holds.count() == 54
    pool.refresh_from_db()
    assert (pool.balance, pool.held) == (0, 10)
    assert ledger.balance(user=owner) == ledger.Balance(available=2, held=98)
    batches.batch_cancel(batch=batch)
    pool.refresh_from_db()
    assert (pool.balance, pool.held) == (10, 0) and ledger.ledger_problems() == []


# --- a consumer killed mid-batch ------------------------------------------------


@pytest.mark.slow
def test_a_consumer_killed_mid_batch_loses_nothing_and_charges_once(owner, consumer, fake_env):
    """SIGKILL while a batch runs on a provider with call slots: the next
    consumer's recovery takes back what was running, frees its slots and goes
    on in fair order; every image ends, each settled once."""
    env = fake_env("dashscope")
    ProviderConfig.objects.create(name="dashscope", max_concurrency=2, timeout_s=30)
    first = consumer(env=env)
    batch = batches.batch_create(user=owner, items=takes(12, prompt="a fox [slow:0.6]"), provider="dashscope")
    images = batch.generations.all()

    def some_done():
        return images.filter(status="succeeded").count() >= 3

    wait_for(some_done, timeout=60, what="a few images of the batch")
    first.kill()
    in_flight = images.filter(status__in=Generation.IN_FLIGHT).count()
    assert in_flight > 0
    time.sleep(1.5)  # older than the timeouts the next consumer is given
    fast_recovery = {"REAPER_TIMEOUT": "1", "QUEUED_RESCUE_AFTER": "1", "STORE_RESCUE_AFTER": "1"}
    second = consumer(env={**env, **fast_recovery})

    def all_ended():
        return not images.filter(status__in=Generation.IN_FLIGHT).exists()

    wait_for(all_ended, timeout=90, what="every image of the batch to end")
    assert set(images.values_list("status", flat=True)) == {"succeeded"}, second.output()
    for gen in images:
        kinds = sorted(CreditEntry.objects.filter(generation=gen).values_list("kind", flat=True))
        assert kinds == ["capture", "hold"], (gen.pk, kinds)
    assert ledger.balance(user=owner) == ledger.Balance(available=100 - 24, held=0)
    held = list(ProviderSlot.objects.filter(holder__isnull=False).values_list("holder", "taken_at"))
    assert not held, (held, list(images.values_list("pk", "attempts")), first.output()[-3000:])
    assert ledger.ledger_problems() == []


def test_recovery_frees_a_slot_a_dead_worker_took_but_never_used(owner, limited, settings):
    settings.REAPER_TIMEOUT = 60
    from datetime import timedelta

    from generations.lifecycle import recovery

    gen = services.generation_create(user=owner, prompt="p", width=1024, height=1024, provider=limited)
    long_ago = timezone.now() - timedelta(seconds=120)
    ProviderSlot.objects.create(provider=limited, number=0, holder=uuid4(), taken_at=long_ago)
    ProviderSlot.objects.create(provider=limited, number=1, holder=gen.pk, taken_at=long_ago)
    Generation.objects.filter(pk=gen.pk).update(status="running", started_at=timezone.now())
    assert recovery.generations_recover()["slots"] == 1
    assert list(ProviderSlot.objects.filter(holder__isnull=False).values_list("holder", flat=True)) == [
        gen.pk
    ]


@pytest.mark.slow
def test_with_two_consumers_a_single_image_starts_before_anothers_queued_batch(
    owner, other, consumer, fake_env
):
    """Fair share across processes: alice's 16 queued on a provider with 2
    slots; bob's one image starts when one of her calls ends, not after her
    batch."""
    env = fake_env("dashscope")
    ProviderConfig.objects.create(name="dashscope", max_concurrency=2, timeout_s=30)
    consumer(env=env)
    consumer(env=env)
    batch = batches.batch_create(user=owner, items=takes(16, prompt="a fox [slow:0.5]"), provider="dashscope")
    wait_for(
        lambda: batch.generations.filter(status="running").exists(), timeout=30, what="the batch to start"
    )
    single = services.generation_create(
        user=other, prompt="one fox [slow:0.5]", width=1024, height=1024, provider="dashscope"
    )
    wait_for(lambda: Generation.objects.get(pk=single.pk).is_finished, timeout=60, what="bob's image")
    single.refresh_from_db()
    later = Q(started_at__isnull=True) | Q(started_at__gt=single.started_at)
    queued_then = batch.generations.filter(later).count()
    assert single.status == "succeeded" and single.wait_seconds < 3
    assert queued_then >= 8  # most of alice's batch was still waiting when bob's started
    wait_for(lambda: not batch.generations.filter(status__in=Generation.IN_FLIGHT).exists(), timeout=90)
    assert ledger.ledger_problems() == []
