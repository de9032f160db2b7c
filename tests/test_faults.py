"""Fault injection with real consumer processes: killed workers, storage
outages, misbehaving providers. Each test checks generations, ledger and storage."""

import os
import signal
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from generations.billing import ledger
from generations.lifecycle import services, status
from generations.models import CreditEntry, Generation, PendingImage
from tests.conftest import make_user
from tests.helpers import wait_for
from tests.helpers_s3 import S3_ENV

pytestmark = pytest.mark.slow
FAST = {
    "REAPER_TIMEOUT": "1",
    "STORE_RESCUE_AFTER": "1",
    "PROVIDER_RETRY_BASE": "0.2",
    "STORE_RETRY_BASE": "0.3",
}


def create(user, **kw):
    args = {"prompt": "a red fox in snow", "width": 1024, "height": 1024, "provider": "dashscope"}
    return services.generation_create(user=user, **{**args, **kw})


def reach(gen, *statuses, timeout=40):
    def check():
        gen.refresh_from_db()
        return gen.status in statuses

    wait_for(check, timeout=timeout, what=f"{gen.pk} to reach {statuses} (is {gen.status})")
    return gen


def assert_settled_once(gen):
    kinds = sorted(CreditEntry.objects.filter(generation=gen).values_list("kind", flat=True))
    assert kinds == (["capture", "hold"] if gen.status == "succeeded" else ["hold", "release"])
    assert ledger.ledger_problems() == []


def test_sigkill_during_the_provider_call_then_restart(owner, consumer, dashscope_env):
    first = consumer(env={**dashscope_env, **FAST, "REAPER_TIMEOUT": "600"})
    gen = reach(create(owner, prompt="fox [slow:3] [times:1]"), "running")
    first.kill()
    time.sleep(1.5)  # older than REAPER_TIMEOUT / STORE_RESCUE_AFTER below
    consumer(env={**dashscope_env, **FAST})
    reach(gen, "succeeded", "failed")
    assert gen.status == "succeeded", gen.error_message  # tried again: the user gets the image
    assert gen.attempts == 2
    assert_settled_once(gen)


def test_sigkill_during_the_copy_then_restart(owner, consumer, dashscope_env):
    first = consumer(env={**dashscope_env, **FAST, "STORE_RESCUE_AFTER": "600"})
    gen = reach(create(owner, prompt="fox [imageslow:3]"), "storing")
    first.kill()
    time.sleep(1.5)  # older than REAPER_TIMEOUT / STORE_RESCUE_AFTER below
    consumer(env={**dashscope_env, **FAST})
    reach(gen, "succeeded", "failed")
    assert gen.status == "succeeded", gen.error_message
    assert gen.attempts == 1  # the provider was not called again: its result was kept
    assert_settled_once(gen)


def test_storage_down_for_a_while_then_back(owner, consumer, seaweed):
    seaweed.stop()
    try:
        consumer(env={**S3_ENV, **FAST, "STORE_RETRY_MAX_DELAY": "1"})
        gen = create(owner, provider="demo", seed=11)
        wait_for(
            lambda: Generation.objects.get(pk=gen.pk).store_attempts >= 3,
            timeout=40,
            what="several failed copies",
        )
        assert reach(gen, "storing").error_code == "StorageUnavailable"
        assert PendingImage.objects.filter(generation=gen).exists()  # bytes kept meanwhile
    finally:
        seaweed.start()
    reach(gen, "succeeded", "failed")
    assert gen.status == "succeeded", gen.error_message
    assert (gen.error_code, gen.error_message) == ("", "")  # the outage's retry error is gone
    listed = seaweed.client().list_objects_v2(Bucket=seaweed.BUCKET, Prefix=gen.image.name[:-4])
    assert sorted(o["Key"] for o in listed["Contents"]) == [gen.image.name, gen.thumbnail.name]
    assert not PendingImage.objects.filter(generation=gen).exists()
    assert_settled_once(gen)


def test_a_hanging_store_times_out_holds_no_connection_and_catches_up(owner, consumer, seaweed, client):
    """The S3 server stops answering (SIGSTOP: connections open, nothing
    read) while images are copied: uploads time out within
    STORAGE_READ_TIMEOUT and are retried, and once it answers again every
    image is stored and charged once, showing no leftover storage error."""
    env = {
        **S3_ENV,
        **FAST,
        "STORE_RETRY_MAX_DELAY": "1",
        "STORAGE_CONNECT_TIMEOUT": "1",
        "STORAGE_READ_TIMEOUT": "1",
        "STORAGE_MAX_ATTEMPTS": "1",
    }
    worker = consumer(env=env)
    os.killpg(seaweed.proc.pid, signal.SIGSTOP)
    try:
        gens = [create(owner, provider="demo", seed=i) for i in range(6)]
        wait_for(
            lambda: Generation.objects.filter(store_attempts__gte=2).count() == 6,
            timeout=40,
            what="every copy to time out twice",
        )
    finally:
        os.killpg(seaweed.proc.pid, signal.SIGCONT)
    for gen in gens:
        reach(gen, "succeeded", "failed", timeout=60)
        assert gen.status == "succeeded" and gen.error_code == "", gen.error_message
        assert_settled_once(gen)
    assert "PoolTimeout" not in worker.output()
    client.force_login(owner)
    assert b"Could not write to storage" not in client.get(f"/g/{gens[0].pk}/").content


@pytest.mark.parametrize(
    "marker, code",
    [
        ("[image:404]", "ImageDownloadFailed"),
        ("[image:html]", "NotAnImage"),
        ("[image:huge]", "ImageTooLarge"),
        ("[image:wrongsize]", "WrongImageSize"),
    ],
)
def test_bad_images_fail_and_refund(owner, consumer, dashscope_env, marker, code):
    consumer(env={**dashscope_env, **FAST})
    gen = reach(create(owner, prompt=f"fox {marker}"), "failed")
    assert gen.error_code == code and not gen.image
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    assert_settled_once(gen)


def test_a_provider_timing_out_is_retried(owner, consumer, dashscope_env):
    consumer(env={**dashscope_env, **FAST, "PROVIDER_TIMEOUT": "1"})
    gen = reach(create(owner, prompt="fox [slow:2] [times:2]"), "succeeded", "failed")
    assert (gen.status, gen.attempts) == ("succeeded", 3)
    assert_settled_once(gen)


def test_canceling_a_running_generation_discards_and_refunds(owner, consumer, dashscope_env):
    consumer(env={**dashscope_env, **FAST})
    gen = reach(create(owner, prompt="fox [slow:2]"), "running")
    assert status.generation_cancel(generation=gen) == "cancel_requested"
    reach(gen, "canceled")
    assert not gen.image
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)
    assert_settled_once(gen)


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_creates_never_overdraw():
    users = [make_user(f"u{i}", credits_amount=25) for i in range(4)]  # 12 images each at 2
    outcomes, lock = {"ok": 0, "short": 0}, threading.Lock()

    def worker(n):
        try:
            for i in range(10):
                user = users[(n + i) % 4]
                try:
                    services.generation_create(
                        user=user, prompt=f"p{n}-{i}", width=1024, height=1024, provider="demo"
                    )
                    key = "ok"
                except ledger.InsufficientCredits:
                    key = "short"
                with lock:
                    outcomes[key] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == {"ok": 48, "short": 152}
    for user in users:
        assert ledger.balance(user=user) == ledger.Balance(available=1, held=24)
    assert Generation.objects.count() == 48
    assert ledger.ledger_problems() == []
