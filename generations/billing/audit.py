"""The audit log: who changed credits, limits, prices or providers, when, why,
and what the object looked like before and after."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.forms.models import model_to_dict

from generations.models import AuditLog


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict:
    """The object's field values as plain JSON (decimals and dates as strings)."""
    return json.loads(json.dumps(model_to_dict(obj, fields=fields), cls=DjangoJSONEncoder))


def audit_record(
    *, actor, obj: models.Model, action: str, before: dict, after: dict, reason: str
) -> AuditLog:
    if not reason.strip():
        raise ValueError("Every admin change needs a reason")
    return AuditLog.objects.create(
        actor=actor,
        object_type=type(obj).__name__,
        object_id=str(obj.pk),
        action=action,
        before=before,
        after=after,
        reason=reason.strip(),
    )


def audited_save(*, obj: models.Model, actor, reason: str) -> AuditLog:
    """Save an admin's edit (a price rule, a provider config) and record it."""
    previous = type(obj)._default_manager.filter(pk=obj.pk).first() if obj.pk else None
    with transaction.atomic():
        obj.save()
        return audit_record(
            actor=actor,
            obj=obj,
            action="change" if previous else "create",
            before=snapshot(previous) if previous else {},
            after=snapshot(obj),
            reason=reason,
        )


def audited_delete(*, obj: models.Model, actor, reason: str) -> AuditLog:
    with transaction.atomic():
        entry = audit_record(
            actor=actor, obj=obj, action="delete", before=snapshot(obj), after={}, reason=reason
        )
        obj.delete()
        return entry
