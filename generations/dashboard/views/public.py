"""Public share links: anyone with the token sees the item read-only, until
its owner revokes the link. No login; nothing but the shared item is reachable."""

from django.http import Http404
from django.shortcuts import get_object_or_404, render

from generations.images.serving import serve_image, serve_thumbnail
from generations.models import Collection, Generation


def _shared(token: str):
    """The live generation or collection behind `token`, else 404."""
    generation = Generation.objects.live().filter(public_token=token).first()
    if generation:
        return generation
    return get_object_or_404(Collection, public_token=token)


def _image_in(item, pk) -> Generation:
    if isinstance(item, Generation):
        if item.pk != pk:
            raise Http404
        return item
    return get_object_or_404(item.generations.live(), pk=pk)


def shared(request, token):
    item = _shared(token)
    if isinstance(item, Generation):
        return render(request, "generations/public.html", {"token": token, "g": item})
    return render(
        request,
        "generations/public.html",
        {"token": token, "collection": item, "generations": item.generations.live()},
    )


def shared_image(request, token, pk):
    return serve_image(_image_in(_shared(token), pk), attachment="download" in request.GET)


def shared_thumbnail(request, token, pk):
    return serve_thumbnail(_image_in(_shared(token), pk))
