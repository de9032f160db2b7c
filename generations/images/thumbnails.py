"""Thumbnails made on first showing. A caller answering inline (the OpenAI
endpoint) stores the original with `store_image(make_thumbnail=False)`: its
client already has the image, and a program's images may never be looked at,
so the thumbnail costs nothing until a page (dashboard, share link, API link)
first asks for it; `serving.serve_thumbnail` makes it then, and serves the
image itself where it cannot be made."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.files.storage import default_storage

from generations.images.ingest import StoreError, decode, thumbnail, thumbnail_save
from generations.models import Generation
from generations.runtime.dbconn import connection_release_idle

log = logging.getLogger(__name__)
# An image that cannot be decoded is not tried again on every showing of it
# (each would read and decode it, and log) for this long; serving shows the
# original meanwhile.
UNDECODABLE_FOR = 3600
# A storage error (the store down or hanging) stops every process making
# thumbnails for this long: each attempt would hold a web thread for the
# storage timeouts, and the original is shown meanwhile.
STORAGE_PAUSE = 30
STORAGE_FAILING = "thumbnail-storage-failing"


def thumbnail_make(*, generation: Generation) -> str:
    """Make a succeeded generation's missing thumbnail beside its image and
    record it; its name, or "" when there is none. `generation` is the row the
    caller has just read (serving reads it to check who may see it): the
    record is conditional, so a row changed meanwhile is not overwritten.
    Running twice (or in two requests at once) is harmless: the row is only
    set while its thumbnail is empty, and a file it did not keep is removed.
    An image that cannot be read is left as it is (it was delivered already;
    serving shows the original)."""
    if generation.thumbnail:
        return generation.thumbnail.name
    if (
        generation.status != Generation.Status.SUCCEEDED
        or not generation.image
        or cache.get(_undecodable(generation.pk))
        or cache.get(STORAGE_FAILING)
    ):
        return ""
    image_name = generation.image.name
    connection_release_idle()  # reading and writing storage: no connection held meanwhile
    try:
        with default_storage.open(image_name, "rb") as original, decode(original) as image:
            thumb = thumbnail(image)
        # Beside the image, stored as `<base>.<ext>` (copying.storage_base_name):
        # taken from the stored name, so it sits beside the file whatever named it.
        name = thumbnail_save(base_name=image_name.rsplit(".", 1)[0], thumb=thumb)
    except StoreError as exc:
        log.warning("no thumbnail for generation %s: %s", generation.pk, exc.message)
        if not exc.retryable:  # the image itself, not the storage writing its thumbnail
            cache.set(_undecodable(generation.pk), True, UNDECODABLE_FOR)
        else:
            cache.set(STORAGE_FAILING, True, STORAGE_PAUSE)
        return ""
    except Exception as exc:  # storage backends raise many kinds; tried again after the pause
        if not isinstance(exc, FileNotFoundError):  # a missing file is not the store failing
            cache.set(STORAGE_FAILING, True, STORAGE_PAUSE)
        log.warning(
            "no thumbnail for generation %s: reading %s failed (%s)",
            generation.pk,
            image_name,
            type(exc).__name__,
        )
        return ""
    return _record(generation.pk, image_name, name)


def _undecodable(pk) -> str:
    return f"thumbnail-undecodable:{pk}"


def _record(pk, image_name: str, name: str) -> str:
    """Set only the thumbnail, and only while it is empty and the same image is
    there. The file goes again where the image was purged meanwhile, or where
    a request making it at the same time recorded its own under another name
    (a storage that does not overwrite picks a free one)."""
    if Generation.objects.filter(pk=pk, thumbnail="", image=image_name).update(thumbnail=name):
        return name
    kept = Generation.objects.filter(pk=pk, image=image_name).values_list("thumbnail", flat=True).first()
    if kept != name:
        default_storage.delete(name)
    return kept or ""
