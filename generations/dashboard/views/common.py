"""Lookups shared by the dashboard views (responses for stored files:
`serving`), and how a form shows a create's refusal."""

import uuid

from django.shortcuts import get_object_or_404

from generations.billing.ledger import InsufficientCredits
from generations.billing.quotas import LimitExceeded
from generations.models import Collection, Generation
from generations.providers import InvalidRequest


def own(request, pk) -> Generation:
    """Another user's generation is a 404: its existence is not revealed."""
    return get_object_or_404(Generation.objects.owned_by(request.user), pk=pk)


def readable(request, pk) -> Generation:
    """Own, or shared read-only with the user's team; else 404."""
    return get_object_or_404(Generation.objects.readable_by(request.user), pk=pk)


def own_collection(request, pk) -> Collection:
    return get_object_or_404(Collection.objects.owned_by(request.user), pk=pk)


def undoable(request):
    """The generation just deleted, for the "Undo" button."""
    try:
        pk = uuid.UUID(request.GET.get("undo", ""))
    except ValueError:  # none, or a mangled id in the URL: no undo button
        return None
    return Generation.objects.owned_by(request.user).exclude(deleted_at=None).filter(pk=pk).first()


def form_attempt(form, create):
    """`create()`'s result, or None with its refusal (bad input, too few
    credits, a limit) added to `form` as the error a person reads."""
    try:
        return create()
    except InvalidRequest as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    except (InsufficientCredits, LimitExceeded) as exc:
        form.add_error(None, str(exc))
    return None
