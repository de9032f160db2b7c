"""Copying images into storage: local files, and a real S3 API (SeaweedFS)."""

import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from PIL import Image

from generations.providers import GenerationResult
from generations.storage import StoreError, store_image
from tests.fakes.server import png_bytes


def store(data=None, url="", expect=(64, 48), name="generations/1/2026/11/abc"):
    result = GenerationResult(image_bytes=data, image_url=url)
    return store_image(base_name=name, result=result, expect=expect)


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
    with override_settings(STORAGES={**settings.STORAGES, "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path}}}):
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


@pytest.mark.parametrize("data, code", [
    (b"<html>not an image</html>", "NotAnImage"),
    (png_bytes(80, 48, "k"), "WrongImageSize"),
])
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


def test_it_stores_on_s3_compatible_storage(seaweed, settings):
    data = png_bytes(64, 48, "s3")
    with override_settings(STORAGES={**settings.STORAGES, "default": seaweed.storages_setting()}):
        stored = store(data, name="generations/9/2026/11/s3test")
        check_stored(stored, data)
        url = default_storage.url(stored.name)
        assert "X-Amz-Signature" in url  # private bucket: presigned, expiring links only
    body = seaweed.client().get_object(Bucket=seaweed.BUCKET, Key=stored.name)["Body"].read()
    assert body == data
