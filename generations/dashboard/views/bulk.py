"""Bulk actions on the images ticked in the gallery: tag, add to a
collection, move to the trash, download as one streamed ZIP."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from generations.dashboard.forms import BulkForm
from generations.images.archive import zip_response
from generations.lifecycle import library
from generations.models import Generation


def selected(request):
    """The ticked images that are the user's and not in the trash; ids that
    are mangled, another user's or gone are ignored."""
    ids = []
    for value in request.POST.getlist("ids"):
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    return Generation.objects.owned_by(request.user).live().filter(pk__in=ids).order_by("-created_at", "-id")


@login_required
@require_POST
def bulk(request):
    form = BulkForm(request.POST, user=request.user)
    rows = selected(request)
    filters = QueryDict(form.data.get("query", "")).urlencode()  # re-encoded: nothing raw in a Location
    back = reverse("gallery") + ("?" + filters if filters else "")
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    if not rows:
        messages.error(request, _("Select at least one image first."))
        return redirect(back)
    action = form.cleaned_data["action"]
    if action == "zip":
        return zip_response(rows, filename=f"z-image-{timezone.localdate():%Y-%m-%d}.zip")
    messages.success(request, _done(action, form.cleaned_data, rows, user=request.user))
    return redirect(back)


def _done(action: str, data: dict, rows, *, user) -> str:
    """Carry out a tag, collect or trash action; the message saying so."""
    count = len(rows)
    if action == "tag":
        for generation in rows:
            library.generation_tag(generation=generation, user=user, text=data["tags"])
        return ngettext("Tagged %(count)d image.", "Tagged %(count)d images.", count) % {"count": count}
    if action == "collect":
        collection = library.collection_add_all(
            user=user, generations=rows, collection=data["collection"], new_name=data["new_name"]
        )
        return ngettext(
            "Added %(count)d image to %(name)s.", "Added %(count)d images to %(name)s.", count
        ) % {"count": count, "name": collection.name}
    count = library.generations_trash(generations=rows)
    return ngettext("Moved %(count)d image to the trash.", "Moved %(count)d images to the trash.", count) % {
        "count": count
    }
