"""Copying images into storage: local files, and a real S3 API (SeaweedFS)."""

import hashlib
import io
import os
import struct
import tracemalloc
import zlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings
from PIL import Image

from generations.images.ingest import StoreError, decode, store_image
from generations.providers import GenerationResult
from tests.fakes.server import png_bytes


def store(data=None, url="", expect=(64, 48), name="generations/1/2026/11/abc", **kwargs):
    result = GenerationResult(image_bytes=data, image_url=url)
    return store_image(base_name=name, result=result, expect=expect, **kwargs)


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_private_chunks(png: bytes, megabytes: int) -> bytes:
    """`png` with 1 MB private `bnCh` chunks (which every reader skips), half
    before the pixels and half after them."""
    filler = [chunk(b"bnCh", os.urandom(1 << 20)) for _ in range(megabytes)]
    half = megabytes // 2
    idat, iend = png.index(b"IDAT") - 4, png.rindex(b"IEND") - 4
    return b"".join([png[:idat], *filler[:half], png[idat:iend], *filler[half:], png[iend:]])


def check_stored(stored, data):
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert (stored.width, stored.height, stored.size) == (64, 48, len(data))
    with default_storage.open(stored.name) as f:
        assert f.read() == data
    with default_storage.open(stored.thumbnail) as f:
        assert Image.open(f).format == "WEBP"


def test_it_stores_bytes_and_a_thumbnail_on_local_disk(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    data = png_bytes(64, 48, "k")
    with override_settings(
        STORAGES={
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": tmp_path},
            },
        }
    ):
        stored = store(data)
        check_stored(stored, data)
        assert (tmp_path / "generations/1/2026/11/abc.png").read_bytes() == data


def test_it_streams_a_url_into_storage(dashscope_server):
    data = png_bytes(64, 48, "streamed")
    url = dashscope_server.add_image("streamed.png", data)
    check_stored(store(url=url), data)


def test_storing_twice_replaces_instead_of_duplicating():
    first, second = png_bytes(64, 48, "one"), png_bytes(64, 48, "two")
    a, b = store(first), store(second)
    assert a.name == b.name
    with default_storage.open(b.name) as f:
        assert f.read() == second


@pytest.mark.parametrize(
    "data, code",
    [
        (b"<html>not an image</html>", "NotAnImage"),
        (png_bytes(80, 48, "k"), "WrongImageSize"),
    ],
)
def test_it_refuses_bad_images(data, code):
    with pytest.raises(StoreError) as info:
        store(data)
    assert info.value.code == code and not info.value.retryable


def test_it_refuses_bodies_over_the_limit(settings, dashscope_server):
    settings.IMAGE_MAX_BYTES = 1000
    big = Image.effect_noise((64, 48), 90).convert("RGB")
    out = io.BytesIO()
    big.save(out, "PNG")
    url = dashscope_server.add_image("big.png", out.getvalue())
    with pytest.raises(StoreError, match="larger than 1000 bytes") as info:
        store(url=url)
    assert info.value.code == "ImageTooLarge"


def test_a_missing_url_is_reported(dashscope_server):
    with pytest.raises(StoreError) as info:
        store(url=dashscope_server.url + "/images/gone.png")
    assert info.value.code == "ImageDownloadFailed" and "HTTP 404" in info.value.message


@pytest.mark.parametrize("threshold", [8 * 1024 * 1024, 1], ids=["put_object", "multipart"])
def test_it_stores_on_s3_compatible_storage(seaweed, settings, threshold):
    data = png_bytes(64, 48, "s3")
    setting = seaweed.storages_setting(multipart_threshold=threshold)
    with override_settings(STORAGES={**settings.STORAGES, "default": setting}):
        stored = store(data, name="generations/9/2026/11/s3test")
        check_stored(stored, data)
        url = default_storage.url(stored.name)
        assert "X-Amz-Signature" in url  # private bucket: presigned, expiring links only
    client = seaweed.client()
    original = client.get_object(Bucket=seaweed.BUCKET, Key=stored.name)
    assert original["Body"].read() == data and original["ContentType"] == "image/png"
    thumb = client.get_object(Bucket=seaweed.BUCKET, Key=stored.thumbnail)
    assert thumb["ContentType"] == "image/webp" and thumb["Body"].read()[8:12] == b"WEBP"


def test_it_reads_back_from_s3_with_one_request(seaweed, settings):
    small, large = png_bytes(64, 48, "back"), os.urandom(3 * 1024 * 1024)  # large spills to disk
    with override_settings(STORAGES={**settings.STORAGES, "default": seaweed.storages_setting()}):
        small_name = store(small, name="generations/9/2026/11/readback").name
        large_name = default_storage.save("generations/9/2026/11/large.bin", ContentFile(large))
        calls = []
        events = default_storage.connection.meta.client.meta.events
        events.register("before-call.s3", lambda model, **kw: calls.append(model.name))
        for name, data in [(small_name, small), (large_name, large)]:
            with default_storage.open(name, "rb") as f:
                assert f.read() == data
        assert calls == ["GetObject", "GetObject"]  # no HEAD before each, no transfer manager
        with pytest.raises(FileNotFoundError):
            default_storage.open("generations/9/2026/11/never-stored.png", "rb")


def test_a_png_with_large_private_chunks_is_stored_intact_with_a_thumbnail():
    data = with_private_chunks(png_bytes(64, 48, "bulky"), 4)
    check_stored(store(data), data)


def test_decoding_such_a_png_keeps_none_of_its_private_chunks_in_memory():
    """Pillow holds private chunks in memory while decoding; they are
    stripped from what it reads (4 MB of them here)."""
    source = io.BytesIO(with_private_chunks(png_bytes(64, 48, "bulky"), 4))
    tracemalloc.start()
    try:
        with decode(source) as image:
            peak = tracemalloc.get_traced_memory()[1]
            assert image.private_chunks == [] and image.size == (64, 48)
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: data.rindex(b"IDAT") + 10],  # cut off in the pixels
        lambda data: flip(data, data.index(b"IDAT") + 6),  # a bad IDAT checksum
    ],
)
@pytest.mark.parametrize("make_thumbnail", [True, False])
def test_a_broken_png_with_large_private_chunks_is_still_refused(damage, make_thumbnail):
    with pytest.raises(StoreError) as info:
        store(damage(with_private_chunks(png_bytes(64, 48, "broken"), 2)), make_thumbnail=make_thumbnail)
    assert info.value.code == "NotAnImage"


def test_without_a_thumbnail_only_the_checked_original_is_stored():
    data = png_bytes(64, 48, "inline")
    stored = store(data, make_thumbnail=False, name="generations/1/2026/11/inline")
    assert stored.thumbnail == "" and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert (stored.width, stored.height, stored.content_type) == (64, 48, "image/png")
    with default_storage.open(stored.name) as f:
        assert f.read() == data
    assert not default_storage.exists("generations/1/2026/11/inline_thumb.webp")


@pytest.mark.parametrize(
    "data, code",
    [
        (b"<html>not an image</html>", "NotAnImage"),
        (png_bytes(80, 48, "k"), "WrongImageSize"),
        (png_bytes(64, 48, "k")[:-30], "NotAnImage"),  # the checksums are checked
    ],
)
def test_without_a_thumbnail_bad_images_are_still_refused(data, code):
    with pytest.raises(StoreError) as info:
        store(data, make_thumbnail=False)
    assert info.value.code == code
