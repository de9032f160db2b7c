"""The full-screen viewer's place in a list: which images come before and
after one, in the gallery (with its filters), the team view or a collection.

A viewer URL names its list (`?in=gallery|team|collection&c=<id>`, plus the
gallery's filters), so it can be shared; the list is always rebuilt for the
person opening it, scoped to what they may read. An image that is not in the
opener's version of the list is shown alone, without neighbours."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.urls import reverse

from generations.dashboard import gallery as selector
from generations.dashboard.forms import GalleryFilterForm
from generations.models import Collection, Generation


@dataclass
class Place:
    back_url: str  # where Esc goes: the list the viewer was opened from
    query: str  # the list's part of the viewer URL, for the neighbours' links
    previous: Generation | None = None  # newer: to the left in a newest-first grid
    following: Generation | None = None  # older: to the right


def place_of(generation: Generation, params: QueryDict, *, user) -> Place:
    """Where `generation` sits in the list `params` names, for `user`."""
    rows, back_url, query = _list_of(params, user=user)
    place = Place(back_url=back_url or reverse("generation_detail", args=[generation.pk]), query=query)
    if rows is None or not rows.filter(pk=generation.pk).exists():
        place.query = ""
        return place
    at, pk = generation.created_at, generation.pk
    newer = Q(created_at__gt=at) | Q(created_at=at, id__gt=pk)
    older = Q(created_at__lt=at) | Q(created_at=at, id__lt=pk)
    place.previous = rows.filter(newer).order_by("created_at", "id").first()
    place.following = rows.filter(older).order_by("-created_at", "-id").first()
    return place


def _list_of(params: QueryDict, *, user) -> tuple[QuerySet | None, str, str]:
    """(the user's rows of the named list, its page URL, its query string)."""
    where = params.get("in")
    if where == "gallery":
        form = GalleryFilterForm(params, user=user)
        form.is_valid()  # as the gallery: the valid filters apply
        rows = selector.filtered(Generation.objects.owned_by(user).live(), form.cleaned_data, user=user)
        kept = params.copy()
        for name in ("in", "c", "cursor", "undo"):
            kept.pop(name, None)
        filters = kept.urlencode() and "&" + kept.urlencode()
        return rows, reverse("gallery") + filters.replace("&", "?", 1), "in=gallery" + filters
    if where == "team":
        rows = Generation.objects.readable_by(user).exclude(owner=user).live()
        return rows, reverse("team"), "in=team"
    if where == "collection" and (params.get("c") or "").isdigit():
        collection = Collection.objects.readable_by(user).filter(pk=params["c"]).first()
        if collection:
            rows = Generation.objects.readable_by(user).live().filter(collections=collection)
            return rows, reverse("collection", args=[collection.pk]), f"in=collection&c={collection.pk}"
    return None, "", ""
