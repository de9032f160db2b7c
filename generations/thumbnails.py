"""Thumbnails made after the image was stored: a caller answering inline
stores the original with `store_image(make_thumbnail=False)` and leaves the
thumbnail to the `make_thumbnail` task. Until it is made, serving falls back
to the image itself; the recovery pass enqueues it again where a task was lost."""

from __future__ import annotations

import logging

from django.core.files.storage import default_storage
from django.db import transaction

from .models import Generation
from .storage import StoreError, decode, thumbnail, thumbnail_save

log = logging.getLogger(__name__)


def thumbnail_enqueue(generation_id) -> None:
    """Make the thumbnail in a task, once the transaction recording the image commits."""
    from .tasks import make_thumbnail

    transaction.on_commit(lambda: make_thumbnail(str(generation_id)))


def thumbnail_make(*, generation_id) -> None:
    """Make a succeeded generation's missing thumbnail beside its image and
    record it. Running twice is harmless: the file is replaced and the row only
    set while its thumbnail is still empty. An image that cannot be read is
    left as it is (it was delivered already; serving shows the original)."""
    generation = (Generation.objects.filter(pk=generation_id, status=Generation.Status.SUCCEEDED,
                                            thumbnail="").exclude(image="").first())
    if generation is None:
        return
    image_name = generation.image.name
    try:
        with default_storage.open(image_name, "rb") as original, decode(original) as image:
            thumb = thumbnail(image)
        # Beside the image, stored as `<base>.<ext>` (copying.storage_base_name);
        # taken from its name, as copying imports this module.
        name = thumbnail_save(base_name=image_name.rsplit(".", 1)[0], thumb=thumb)
    except StoreError as exc:
        log.warning("no thumbnail for generation %s: %s", generation.pk, exc.message)
        return
    except Exception as exc:  # storage backends raise many kinds; the recovery pass tries again
        log.warning("no thumbnail for generation %s: reading %s failed (%s)", generation.pk,
                    image_name, type(exc).__name__)
        return
    _record(generation.pk, image_name, name)


def _record(pk, image_name: str, name: str) -> None:
    """Set only the thumbnail, and only while it is empty and the same image is
    there; if the image was purged meanwhile, the new file goes too."""
    if Generation.objects.filter(pk=pk, thumbnail="", image=image_name).update(thumbnail=name):
        return
    if not Generation.objects.filter(pk=pk, image=image_name).exists():
        default_storage.delete(name)
