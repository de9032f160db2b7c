"""Browsing: the gallery, the trash, and what teammates shared."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import ngettext

from generations.billing import ledger
from generations.billing.teams import teammates_of
from generations.dashboard import gallery as selector
from generations.dashboard.forms import BulkForm, GalleryFilterForm
from generations.dashboard.views.common import undoable
from generations.lifecycle import library
from generations.models import Collection, Generation, TeamMembership


@login_required
def gallery(request):
    form = GalleryFilterForm(request.GET, user=request.user)
    form.is_valid()  # an invalid filter is shown beside its field and left out; the rest apply
    filters = form.cleaned_data
    rows = selector.filtered(Generation.objects.owned_by(request.user).live(), filters, user=request.user)
    page = selector.page(rows, cursor=request.GET.get("cursor", ""), size=settings.GALLERY_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("cursor", None)
    query.pop("undo", None)
    filters = query.urlencode()
    context = {
        "form": form,
        "page": page,
        "query": filters,
        "undo": undoable(request),
        "view_query": "in=gallery" + (filters and "&" + filters),  # a card opens the viewer here
        "bulk_form": BulkForm(user=request.user, initial={"query": filters}),
    }
    if request.htmx and request.GET.get("cursor"):
        return render(request, "generations/_gallery_page.html", context)
    return render(request, "generations/gallery.html", context)


@login_required
def trash(request):
    rows = _trashed(request)
    return render(
        request,
        "generations/trash.html",
        {"generations": rows.order_by("-deleted_at")[:200], "days": settings.TRASH_DAYS},
    )


@login_required
def trash_empty(request):
    """Deleting for good cannot be undone: a page asks first (saying how
    many), and only its button, which sends `confirm`, deletes."""
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        count = library.trash_purge(user=request.user)
        done = ngettext("%(count)d image deleted for good.", "%(count)d images deleted for good.", count)
        messages.success(request, done % {"count": count})
        return redirect("trash")
    count = _trashed(request).filter(status__in=Generation.FINISHED).count()
    return render(request, "generations/trash_empty.html", {"count": count})


def _trashed(request):
    return Generation.objects.owned_by(request.user).exclude(deleted_at=None).filter(purged_at=None)


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
            "view_query": "in=team",
        },
    )
