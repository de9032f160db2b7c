"""Lookups and responses shared by the dashboard views."""

from django.shortcuts import get_object_or_404

from ..models import Collection, Generation
from ..serving import image_download_name, serve_stored, thumbnail_download_name


def own(request, pk) -> Generation:
    """Another user's generation is a 404: its existence is not revealed."""
    return get_object_or_404(Generation.objects.owned_by(request.user), pk=pk)


def readable(request, pk) -> Generation:
    """Own, or shared read-only with the user's team; else 404."""
    return get_object_or_404(Generation.objects.readable_by(request.user), pk=pk)


def own_collection(request, pk) -> Collection:
    return get_object_or_404(Collection.objects.owned_by(request.user), pk=pk)


def serve_image(g: Generation, *, attachment: bool = False):
    return serve_stored(g.image, download_name=image_download_name(g), attachment=attachment)


def serve_thumbnail(g: Generation):
    if not g.thumbnail:  # made later by a task, or it failed: never a broken image
        return serve_image(g)
    return serve_stored(g.thumbnail, download_name=thumbnail_download_name(g))
