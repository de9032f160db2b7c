"""Provider configs and prices are kept a moment per process (config_cache):
a change made in this process applies at once, one made elsewhere (another
web process: here a queryset update, which sends no signal) within
CONFIG_CACHE_SECONDS."""

import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from generations.lifecycle import services
from generations.models import PriceRule, ProviderConfig
from generations.providers import InvalidRequest


def create(owner, **kwargs):
    return services.generation_create(user=owner, prompt="a fox", width=512, height=512, **kwargs)


def test_it_applies_a_price_saved_in_this_process_at_once(owner):
    assert create(owner).credits_cost == 1
    PriceRule.objects.create(provider="", max_megapixels=Decimal("4.2"), credits=7)
    assert create(owner).credits_cost == 7


def test_it_applies_a_provider_disabled_in_this_process_at_once(owner):
    create(owner, provider="demo")
    ProviderConfig.objects.create(name="demo", enabled=False)
    with pytest.raises(InvalidRequest, match="Disabled by an admin"):
        create(owner, provider="demo")


def test_it_sees_a_change_from_another_process_within_the_cache_time(owner, settings):
    settings.CONFIG_CACHE_SECONDS = 0.3
    rule = PriceRule.objects.create(provider="", max_megapixels=Decimal("4.2"), credits=3)
    assert create(owner).credits_cost == 3
    PriceRule.objects.filter(pk=rule.pk).update(credits=4)  # no signal: as another process
    assert create(owner).credits_cost == 3
    time.sleep(0.35)
    assert create(owner).credits_cost == 4


def test_it_reads_neither_table_on_a_second_create(owner):
    create(owner)
    with CaptureQueriesContext(connection) as queries:
        create(owner)
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "generations_providerconfig" not in tables
    assert "generations_pricerule" not in tables


def test_it_reads_every_time_when_turned_off(owner, settings):
    settings.CONFIG_CACHE_SECONDS = 0
    create(owner)
    with CaptureQueriesContext(connection) as queries:
        create(owner)
    assert "generations_pricerule" in " ".join(q["sql"] for q in queries.captured_queries)
