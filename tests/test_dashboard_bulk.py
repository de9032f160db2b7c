"""Bulk actions on the images ticked in the gallery, scoped to their owner."""

import io
import zipfile

import pytest
from django.urls import reverse

from generations.models import Collection, Generation
from tests.test_dashboard import make

BULK = "gallery_bulk"


@pytest.fixture
def pair(owner):
    return make(owner, prompt="a cat"), make(owner, prompt="a fox")


def post(client, action, ids, **extra):
    return client.post(reverse(BULK), {"action": action, "ids": [str(i) for i in ids], **extra})


def test_the_gallery_offers_a_tick_on_every_card(client, owner, pair):
    client.force_login(owner)
    page = client.get(reverse("gallery")).content.decode()
    for g in pair:
        assert f'name="ids" value="{g.pk}" form="bulk"' in page
    assert 'id="bulk"' in page and "Download as ZIP" in page


def test_it_tags_and_collects_only_the_ticked_images(client, owner, pair):
    cat, fox = pair
    client.force_login(owner)
    response = post(client, "tag", [cat.pk], tags="pets, 猫", query="q=a")
    assert response["Location"] == "/gallery/?q=a"
    assert set(cat.tags.values_list("name", flat=True)) == {"pets", "猫"} and not fox.tags.exists()
    post(client, "collect", [cat.pk, fox.pk], new_name="Animals")
    assert set(Collection.objects.get(name="Animals").generations.all()) == {cat, fox}
    page = client.get(reverse("gallery")).content.decode()
    assert "Added 2 images to Animals." in page


def test_it_moves_the_ticked_images_to_the_trash(client, owner, pair):
    cat, fox = pair
    client.force_login(owner)
    post(client, "trash", [fox.pk])
    assert Generation.objects.get(pk=fox.pk).deleted_at and not Generation.objects.get(pk=cat.pk).deleted_at
    assert "Moved 1 image to the trash." in client.get(reverse("gallery")).content.decode()


def test_it_downloads_the_ticked_images_as_one_zip(client, owner, pair):
    cat, fox = pair
    client.force_login(owner)
    response = post(client, "zip", [cat.pk, fox.pk])
    assert response.streaming and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == sorted(f"{g.pk}.png" for g in pair)
    with cat.image.open("rb") as f:
        assert archive.read(f"{cat.pk}.png") == f.read()


def test_another_users_images_are_never_acted_on(client, owner, other, pair):
    cat, fox = pair
    client.force_login(other)
    theirs = make(other, prompt="bob's")
    response = post(client, "zip", [cat.pk, theirs.pk, "not-a-uuid"])
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == [f"{theirs.pk}.png"]
    post(client, "trash", [cat.pk, fox.pk])
    assert not Generation.objects.filter(owner=owner).exclude(deleted_at=None).exists()
    assert "Select at least one image first." in client.get(reverse("gallery")).content.decode()


def test_a_bad_bulk_request_says_what_is_missing_and_changes_nothing(client, owner, pair):
    cat, _ = pair
    client.force_login(owner)
    post(client, "tag", [cat.pk], tags=" , ")
    page = client.get(reverse("gallery")).content.decode()
    assert "Type the tags to add, separated by commas." in page and not cat.tags.exists()
    post(client, "collect", [cat.pk])
    assert "Choose a collection or name a new one." in client.get(reverse("gallery")).content.decode()
    assert post(client, "explode", [cat.pk]).status_code == 302 and not Collection.objects.exists()
