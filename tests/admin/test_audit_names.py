"""The audit log names what changed (an account's owner, a rule) instead of
showing bare ids, in its list and in an entry's before/after."""

import pytest
from django.urls import reverse

from generations.billing import ledger
from generations.billing.audit import audit_record, snapshot
from generations.models import AuditLog


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_list_and_an_entry_name_the_account_and_its_owner(staff, owner, admin_user):
    account = ledger.account_for(owner)
    entry = audit_record(
        actor=admin_user, obj=account, action="freeze", before=snapshot(account), after={}, reason="test"
    )
    page = staff.get(reverse("admin:generations_auditlog_changelist")).content.decode()
    change = reverse("admin:generations_creditaccount_change", args=[account.pk])
    assert f'<a href="{change}">alice (100 credits)</a>' in page
    detail = staff.get(reverse("admin:generations_auditlog_change", args=[entry.pk])).content.decode()
    assert f"&quot;user&quot;: &quot;alice (#{owner.pk})&quot;" in detail


def test_a_deleted_object_is_named_by_its_type_and_id(staff, admin_user):
    AuditLog.objects.create(
        actor=admin_user, object_type="PriceRule", object_id="987", action="delete", reason="gone"
    )
    page = staff.get(reverse("admin:generations_auditlog_changelist")).content.decode()
    assert "PriceRule #987 (deleted)" in page
