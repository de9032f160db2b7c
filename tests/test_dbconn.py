"""A thread waiting on a provider gives its pooled PostgreSQL connection back,
so a consumer's threads are not capped by the database's connections."""

import pytest
from django.conf import settings
from django.db import connection, transaction

from generations.lifecycle import services
from generations.models import Generation
from generations.runtime.dbconn import connection_release_idle
from tests.helpers import wait_for

pooled = pytest.mark.skipif(not settings.DATABASE_POOL_MAX_SIZE, reason="the connection pool is PostgreSQL's")


def _connected() -> bool:
    connection.ensure_connection()
    connection_release_idle()
    return connection.connection is not None


@pytest.mark.django_db(transaction=True)
def test_kept_inside_a_transaction():
    with transaction.atomic():
        assert _connected()  # closing would roll the transaction back


@pytest.mark.skipif(bool(settings.DATABASE_POOL_MAX_SIZE), reason="without a pool")
@pytest.mark.django_db(transaction=True)
def test_kept_without_a_pool():
    assert _connected()  # a new connection costs more than an idle one


@pooled
@pytest.mark.django_db(transaction=True)
def test_handed_back_to_the_pool_and_taken_again():
    assert not _connected()
    assert Generation.objects.count() == 0  # the next query takes one from the pool


def consumer_connections(app: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND datname = current_database()",
            [app],
        )
        return cursor.fetchone()[0]


@pooled
@pytest.mark.slow
@pytest.mark.parametrize("processes", [1, 2])  # two: each process has half the pool
def test_twelve_threads_wait_on_a_provider_with_four_connections(owner, consumer, dashscope_env, processes):
    # Tagged, to count the consumer's connections apart from this process's.
    app, threads, pool = "zimage-test-pooled-consumer", 12, 4
    consumer(
        env={
            **dashscope_env,
            "PGAPPNAME": app,
            "DATABASE_POOL_MAX_SIZE": str(pool),
            "HUEY_WORKER_PROCESSES": str(processes),
        },
        workers=threads,
    )
    gens = [
        services.generation_create(
            user=owner, prompt=f"fox {i} [slow:4]", width=1024, height=1024, provider="dashscope"
        )
        for i in range(threads)
    ]
    running = Generation.objects.filter(status=Generation.Status.RUNNING)
    # Were each thread to keep its connection through the call, only `pool`
    # generations could be running at once; the rest would wait for one.
    wait_for(lambda: running.count() == threads, timeout=20, what="all twelve at the provider")
    assert consumer_connections(app) <= pool
    wait_for(
        lambda: not Generation.objects.filter(status__in=Generation.IN_FLIGHT).exists(),
        timeout=60,
        what="all twelve to finish",
    )
    assert set(Generation.objects.filter(pk__in=[g.pk for g in gens]).values_list("status", flat=True)) == {
        "succeeded"
    }


@pooled
@pytest.mark.slow
def test_slow_image_downloads_hold_no_connection_and_others_are_not_starved(owner, consumer, dashscope_env):
    """Eight copies from an image host that takes 6 s to answer, on a pool of
    two: while they download, other generations are claimed, made and stored,
    and no thread waits for a connection (PoolTimeout) meanwhile."""
    app = "zimage-test-slow-host-consumer"
    worker = consumer(
        env={
            **dashscope_env,
            "PGAPPNAME": app,
            "DATABASE_POOL_MAX_SIZE": "2",
            "DATABASE_POOL_TIMEOUT": "3",
            "HUEY_WORKER_PROCESSES": "1",
        },
        workers=12,
    )
    for i in range(8):
        services.generation_create(
            user=owner, prompt=f"fox {i} [imageslow:6]", width=1024, height=1024, provider="dashscope"
        )
    wait_for(
        lambda: Generation.objects.filter(status="storing").count() == 8,
        timeout=20,
        what="eight copies downloading",
    )
    quick = [
        services.generation_create(
            user=owner, prompt=f"whale {i}", width=1024, height=1024, provider="dashscope"
        )
        for i in range(4)
    ]
    wait_for(
        lambda: (
            set(Generation.objects.filter(pk__in=[g.pk for g in quick]).values_list("status", flat=True))
            == {"succeeded"}
        ),
        timeout=5,
        what="the quick ones to finish while the slow ones download",
    )
    assert consumer_connections(app) <= 2
    wait_for(
        lambda: not Generation.objects.filter(status__in=Generation.IN_FLIGHT).exists(),
        timeout=60,
        what="every generation to finish",
    )
    assert set(Generation.objects.values_list("status", flat=True)) == {"succeeded"}
    assert "PoolTimeout" not in worker.output()
