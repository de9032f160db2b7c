"""The full-screen viewer: one image at a time, previous/next within the list
it was opened from, and keys (studio.js) for the usual actions."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from generations.dashboard.viewer import place_of
from generations.dashboard.views.common import own, readable, undoable
from generations.lifecycle import library


@login_required
def viewer(request, pk):
    g = readable(request, pk)
    place = place_of(g, request.GET, user=request.user)
    context = {
        "g": g,
        "mine": g.owner_id == request.user.pk,
        "place": place,
        "undo": undoable(request),
    }
    return render(request, "generations/viewer.html", context)


@login_required
@require_POST
def viewer_trash(request, pk):
    """Move to the trash and show the image after it (or before it, or the
    list when it was the only one), with an Undo."""
    g = own(request, pk)
    place = place_of(g, request.GET, user=request.user)  # the list rides in the form's action URL
    library.generation_trash(generation=g)
    neighbour = place.following or place.previous
    if neighbour is None:
        return redirect(reverse("gallery") + f"?undo={g.pk}")
    query = f"{place.query}&undo={g.pk}" if place.query else f"undo={g.pk}"
    return redirect(reverse("generation_view", args=[neighbour.pk]) + "?" + query)
