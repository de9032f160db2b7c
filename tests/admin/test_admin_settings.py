"""Prices and provider configurations: saved with a reason, audited; the audit
log is read-only; a disabled provider takes no new generations."""

from decimal import Decimal

import pytest
from django.urls import reverse

from generations.lifecycle import services
from generations.models import AuditLog, PriceRule, ProviderConfig
from generations.providers import InvalidRequest


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


PRICE = {
    "provider": "",
    "max_megapixels": "1.05",
    "credits": "4",
    "prompt_extend_surcharge": "1",
    "provider_cost": "0.0300",
}


def test_a_price_change_is_audited_and_applies_to_new_generations_only(staff, owner, admin_user):
    old = services.generation_create(user=owner, prompt="p", width=1024, height=1024, provider="demo")
    add = reverse("admin:generations_pricerule_add")
    assert staff.post(add, PRICE).status_code == 200  # no reason: refused
    assert staff.post(add, {**PRICE, "reason": "launch prices"}).status_code == 302
    rule = PriceRule.objects.get()
    change = reverse("admin:generations_pricerule_change", args=[rule.pk])
    assert staff.post(change, {**PRICE, "credits": "7", "reason": "GPU costs"}).status_code == 302
    log = AuditLog.objects.filter(object_type="PriceRule", action="change").get()
    assert (log.before["credits"], log.after["credits"], log.actor) == (4, 7, admin_user)
    new = services.generation_create(user=owner, prompt="p", width=1024, height=1024, provider="demo")
    old.refresh_from_db()
    assert (old.credits_cost, new.credits_cost, new.provider_price) == (2, 7, Decimal("0.03"))


def test_deleting_a_price_asks_for_a_reason(staff):
    rule = PriceRule.objects.create(max_megapixels=Decimal("4.2"), credits=3)
    url = reverse("admin:generations_pricerule_changelist")
    data = {"action": "delete_with_reason", "_selected_action": [rule.pk], "apply": "1"}
    staff.post(url, {**data, "reason": ""})
    assert PriceRule.objects.exists()
    staff.post(url, {**data, "reason": "back to defaults"})
    assert not PriceRule.objects.exists()
    log = AuditLog.objects.get(action="delete")
    assert log.before["credits"] == 3 and log.after == {}


PROVIDER = {
    "name": "demo",
    "enabled": "on",
    "base_url": "",
    "region": "",
    "api_key_env": "DEMO_API_KEY",
    "model_name": "",
    "timeout_s": "60",
    "max_concurrency": "2",
    "reason": "set up",
}


def test_a_provider_is_configured_disabled_and_audited(staff, owner, admin_user):
    add = reverse("admin:generations_providerconfig_add")
    bad = staff.post(add, {**PROVIDER, "api_key_env": "sk-1234567890abcdef"})
    assert b"never the key itself" in bad.content and not ProviderConfig.objects.exists()
    assert staff.post(add, {**PROVIDER, "is_default": "on"}).status_code == 302
    config = ProviderConfig.objects.get()
    assert config.is_default and config.max_concurrency == 2
    change = reverse("admin:generations_providerconfig_change", args=[config.pk])
    data = {**PROVIDER, "reason": "provider outage"}
    del data["enabled"]
    assert staff.post(change, data).status_code == 302
    log = AuditLog.objects.get(object_type="ProviderConfig", action="change")
    assert (log.before["enabled"], log.after["enabled"], log.reason) == (True, False, "provider outage")
    with pytest.raises(InvalidRequest, match="Disabled by an admin"):
        services.generation_create(user=owner, prompt="p", width=1024, height=1024, provider="demo")


def test_only_one_provider_is_the_default(staff):
    add = reverse("admin:generations_providerconfig_add")
    staff.post(add, {**PROVIDER, "is_default": "on"})
    staff.post(add, {**PROVIDER, "name": "dashscope", "api_key_env": "DASHSCOPE_API_KEY", "is_default": "on"})
    assert list(ProviderConfig.objects.filter(is_default=True).values_list("name", flat=True)) == [
        "dashscope"
    ]


def test_the_audit_log_is_read_only(staff, admin_user):
    entry = AuditLog.objects.create(
        actor=admin_user,
        object_type="PriceRule",
        object_id="1",
        action="change",
        before={"credits": 1},
        after={"credits": 2},
        reason="why",
    )
    assert staff.get(reverse("admin:generations_auditlog_changelist")).status_code == 200
    page = staff.get(reverse("admin:generations_auditlog_change", args=[entry.pk]))
    assert page.status_code == 200 and b"&quot;credits&quot;: 2" in page.content
    assert b'type="submit"' not in page.content.split(b'id="content"')[1]
    assert staff.get(reverse("admin:generations_auditlog_add")).status_code == 403
    assert staff.get(reverse("admin:generations_auditlog_delete", args=[entry.pk])).status_code == 403
