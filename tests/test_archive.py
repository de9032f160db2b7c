"""Many images as one streamed ZIP: exact bytes, a note for what storage lost,
and memory that does not grow with the archive (local disk and S3)."""

import datetime
import io
import os
import tracemalloc
import zipfile
from types import SimpleNamespace

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings

from generations.images.archive import zip_chunks
from tests.fakes.server import png_bytes

WHEN = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=datetime.UTC)


def stored(pk: int, data: bytes | None) -> SimpleNamespace:
    """A generation-like row whose image is in storage (or was lost from it)."""
    name = f"generations/archive-test/{pk}.png"
    if data is not None:
        default_storage.delete(name)
        name = default_storage.save(name, ContentFile(data))
    image = SimpleNamespace(name=name, storage=default_storage)
    return SimpleNamespace(pk=pk, created_at=WHEN, image=image)


def unzip(chunks) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(chunks)))


def test_the_archive_holds_every_image_byte_for_byte_and_names_what_storage_lost():
    images = {1: png_bytes(64, 48, "one"), 2: png_bytes(32, 32, "two")}
    rows = [stored(1, images[1]), stored(404, None), stored(2, images[2])]
    archive = unzip(zip_chunks(rows))
    assert archive.namelist() == ["1.png", "2.png", "MISSING.txt"]
    assert archive.read("1.png") == images[1] and archive.read("2.png") == images[2]
    assert "404.png" in archive.read("MISSING.txt").decode()
    assert archive.getinfo("1.png").date_time == (2026, 11, 30, 12, 0, 0)
    assert archive.testzip() is None


def test_memory_stays_flat_however_large_the_archive_on_s3(seaweed, settings):
    with override_settings(STORAGES={**settings.STORAGES, "default": seaweed.storages_setting()}):
        rows = [stored(pk, os.urandom(4 * 1024 * 1024)) for pk in range(1, 6)]
        tracemalloc.start()
        try:
            total = sum(len(chunk) for chunk in zip_chunks(rows))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert total > 20 * 1024 * 1024  # 5 x 4 MB went through
    assert peak < 4 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 20 MiB archive"
