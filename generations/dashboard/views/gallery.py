"""Browsing: the gallery, the trash, and what teammates shared."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from generations.billing import ledger
from generations.billing.teams import teammates_of
from generations.dashboard import gallery as selector
from generations.dashboard.forms import GalleryFilterForm
from generations.lifecycle import library
from generations.models import Collection, Generation, TeamMembership


@login_required
def gallery(request):
    form = GalleryFilterForm(request.GET, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selector.filtered(Generation.objects.owned_by(request.user).live(), filters, user=request.user)
    page = selector.page(rows, cursor=request.GET.get("cursor", ""), size=settings.GALLERY_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("cursor", None)
    query.pop("undo", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "undo": _undoable(request)}
    if request.htmx and request.GET.get("cursor"):
        return render(request, "generations/_gallery_page.html", context)
    return render(request, "generations/gallery.html", context)


def _undoable(request):
    """The generation just deleted, for the "Undo" button."""
    try:
        pk = uuid.UUID(request.GET.get("undo", ""))
    except ValueError:  # none, or a mangled id in the URL: no undo button
        return None
    return Generation.objects.owned_by(request.user).exclude(deleted_at=None).filter(pk=pk).first()


@login_required
def trash(request):
    rows = Generation.objects.owned_by(request.user).exclude(deleted_at=None).filter(purged_at=None)
    return render(
        request,
        "generations/trash.html",
        {"generations": rows.order_by("-deleted_at")[:200], "days": settings.TRASH_DAYS},
    )


@login_required
@require_POST
def trash_empty(request):
    count = library.trash_purge(user=request.user)
    messages.success(request, _("%(count)d images deleted for good.") % {"count": count})
    return redirect("trash")


@login_required
def team(request):
    mates = teammates_of(request.user)
    generations = Generation.objects.readable_by(request.user).exclude(owner=request.user)
    collections = Collection.objects.readable_by(request.user).exclude(owner=request.user)
    membership = TeamMembership.objects.select_related("team").filter(user=request.user).first()
    return render(
        request,
        "generations/team.html",
        {
            "team": membership.team if membership else None,
            "pool": ledger.team_account(membership.team) if membership else None,
            "mates": mates,
            "generations": generations.select_related("owner")[:100],
            "collections": collections.select_related("owner"),
        },
    )
