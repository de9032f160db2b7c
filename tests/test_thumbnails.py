"""Thumbnails made on first showing, for images stored without one (inline answers)."""

import io
import logging

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from generations.images import thumbnails
from generations.lifecycle import library, services, store
from generations.models import Generation
from tests.test_views import fetch


@pytest.fixture
def stored(done):
    """A succeeded generation whose image was stored without a thumbnail."""
    default_storage.delete(done.thumbnail.name)
    Generation.objects.filter(pk=done.pk).update(thumbnail="")
    done.refresh_from_db()
    return done


def test_its_first_showing_makes_the_thumbnail_beside_the_image(client, owner, stored, monkeypatch):
    before = Generation.objects.values().get(pk=stored.pk)
    client.force_login(owner)
    url = reverse("generation_thumbnail", args=[stored.pk])
    shown = fetch(client, url)
    thumb = Image.open(io.BytesIO(shown))
    assert thumb.format == "WEBP" and max(thumb.size) == 384
    after = Generation.objects.values().get(pk=stored.pk)
    name = after["thumbnail"]
    assert name == f"{store.storage_base_name(stored)}_thumb.webp"
    assert {**after, "thumbnail": ""} == before  # no other field touched
    with default_storage.open(name) as f:
        assert f.read() == shown

    def no_decoding(*args):
        raise AssertionError("decoded again")

    monkeypatch.setattr(thumbnails, "decode", no_decoding)
    assert fetch(client, url) == shown  # the next showing serves the stored one


def test_making_it_again_changes_nothing(stored):
    thumbnails.thumbnail_make(generation=stored)
    stored.refresh_from_db()
    default_storage.delete(stored.thumbnail.name)
    thumbnails.thumbnail_make(generation=stored)  # the row has one: nothing is made
    assert Generation.objects.get(pk=stored.pk).thumbnail.name == stored.thumbnail.name
    assert not default_storage.exists(stored.thumbnail.name)


def test_an_original_that_cannot_be_decoded_is_shown_as_it_is(client, owner, stored, caplog):
    default_storage.delete(stored.image.name)
    default_storage.save(stored.image.name, ContentFile(b"\x89PNG\r\n\x1a\n broken"))
    client.force_login(owner)
    with caplog.at_level(logging.WARNING, logger="generations.images.thumbnails"):
        shown = fetch(client, reverse("generation_thumbnail", args=[stored.pk]))
    assert shown == b"\x89PNG\r\n\x1a\n broken"  # never a broken link
    assert "no thumbnail for generation" in caplog.text and "not a readable image" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="generations.images.thumbnails"):
        again = fetch(client, reverse("generation_thumbnail", args=[stored.pk]))
    assert again == shown and caplog.text == ""  # not decoded and logged on every showing
    stored.refresh_from_db()
    assert stored.thumbnail == "" and stored.status == "succeeded"


def test_a_missing_original_is_logged_not_raised_and_tried_again(stored, caplog):
    with default_storage.open(stored.image.name) as f:
        original = f.read()
    default_storage.delete(stored.image.name)
    with caplog.at_level(logging.WARNING, logger="generations.images.thumbnails"):
        assert thumbnails.thumbnail_make(generation=stored) == ""
    assert "no thumbnail for generation" in caplog.text
    assert Generation.objects.get(pk=stored.pk).thumbnail == ""
    default_storage.save(stored.image.name, ContentFile(original))  # the storage is back
    assert thumbnails.thumbnail_make(generation=stored).endswith("_thumb.webp")


def test_an_image_purged_meanwhile_leaves_no_thumbnail_behind(stored, monkeypatch):
    real_save = thumbnails.thumbnail_save

    def purge_first(**kwargs):
        library.generation_purge(generation=Generation.objects.get(pk=stored.pk))
        return real_save(**kwargs)

    monkeypatch.setattr(thumbnails, "thumbnail_save", purge_first)
    thumbnails.thumbnail_make(generation=stored)
    gen = Generation.objects.get(pk=stored.pk)
    assert gen.thumbnail == "" and gen.purged_at is not None
    assert not default_storage.exists(f"{store.storage_base_name(stored)}_thumb.webp")


def test_only_a_succeeded_generation_with_an_image_gets_one(owner):
    queued = services.generation_create(user=owner, prompt="later", width=1024, height=1024, provider="demo")
    assert thumbnails.thumbnail_make(generation=queued) == ""
    assert Generation.objects.get(pk=queued.pk).thumbnail == ""


def test_one_recorded_meanwhile_by_another_request_is_kept_and_ours_removed(stored, monkeypatch):
    """Two first showings at once: the row keeps the first recorded, the other's file goes."""
    real_save = thumbnails.thumbnail_save
    theirs = default_storage.save("elsewhere/theirs_thumb.webp", ContentFile(b"theirs"))

    def other_request_first(**kwargs):
        Generation.objects.filter(pk=stored.pk).update(thumbnail=theirs)
        return real_save(**kwargs)

    monkeypatch.setattr(thumbnails, "thumbnail_save", other_request_first)
    assert thumbnails.thumbnail_make(generation=stored) == theirs
    assert Generation.objects.get(pk=stored.pk).thumbnail.name == theirs
    assert not default_storage.exists(f"{store.storage_base_name(stored)}_thumb.webp")
    assert default_storage.exists(theirs)


def test_a_storage_error_pauses_thumbnails_instead_of_holding_a_thread_per_showing(stored, monkeypatch):
    """While the store fails, showings serve the original at once: no read is tried."""
    opened = []

    def failing_open(name, mode="rb"):
        opened.append(name)
        raise ConnectionError("the store does not answer")

    monkeypatch.setattr(thumbnails.default_storage, "open", failing_open)
    assert thumbnails.thumbnail_make(generation=stored) == ""
    assert thumbnails.thumbnail_make(generation=stored) == ""
    assert len(opened) == 1
