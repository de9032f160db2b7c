"""The full-screen viewer: previous/next within the list it was opened from,
a URL that can be shared but shows each person only what they may read."""

import pytest
from django.urls import reverse

from generations.lifecycle import library
from generations.models import Generation
from tests.test_dashboard import make, team_up


@pytest.fixture
def three(owner):
    """alice's images, oldest first: a cat, a fox (tagged), a dog."""
    cat, fox, dog = make(owner, prompt="a cat"), make(owner, prompt="a fox"), make(owner, prompt="a dog")
    library.generation_tag(generation=fox, user=owner, text="wild")
    return cat, fox, dog


def view(client, g, query=""):
    return client.get(reverse("generation_view", args=[g.pk]) + (f"?{query}" if query else ""))


def neighbours(response):
    place = response.context["place"]
    return place.previous, place.following


def test_it_steps_through_the_gallery_newest_first(client, owner, three):
    cat, fox, dog = three
    client.force_login(owner)
    assert neighbours(view(client, fox, "in=gallery")) == (dog, cat)
    assert neighbours(view(client, dog, "in=gallery")) == (None, fox)
    response = view(client, cat, "in=gallery")
    assert neighbours(response) == (fox, None)
    page = response.content.decode()
    assert f'href="/g/{fox.pk}/view?in=gallery"' in page and 'data-key="next"' not in page
    assert 'href="/gallery/" class="viewer-close"' in page  # Esc goes back to the gallery


def test_it_keeps_the_gallerys_filters(client, owner, three):
    cat, fox, dog = three
    client.force_login(owner)
    gallery = client.get(reverse("gallery"), {"q": "a"}).content.decode()
    assert f"/g/{fox.pk}/view?in=gallery&amp;q=a" in gallery  # a card opens the viewer
    assert neighbours(view(client, fox, "in=gallery&tag=wild")) == (None, None)
    response = view(client, cat, "in=gallery&q=o")  # a fox, a dog; not the cat
    assert neighbours(response) == (None, None) and response.context["place"].query == ""
    response = view(client, fox, "in=gallery&q=o")
    assert neighbours(response) == (dog, None) and response.context["place"].back_url == "/gallery/?q=o"


def test_a_shared_viewer_url_shows_a_teammate_only_what_they_may_read(client, owner, other, three):
    cat, fox, dog = three
    team_up(owner, other)
    client.force_login(other)
    assert view(client, fox, "in=gallery").status_code == 404  # not shared
    library.share_with_team(item=fox, shared=True)
    library.share_with_team(item=cat, shared=True)
    response = view(client, fox, "in=gallery")  # alice's gallery is not bob's
    assert response.status_code == 200 and neighbours(response) == (None, None)
    assert 'data-key="trash"' not in response.content.decode()
    assert neighbours(view(client, fox, "in=team")) == (None, cat)  # the dog is not shared
    team_page = client.get(reverse("team")).content.decode()
    assert f"/g/{fox.pk}/view?in=team" in team_page


def test_it_steps_through_a_collection(client, owner, other, three):
    cat, fox, dog = three
    album = library.collection_add(user=owner, generation=cat, new_name="Pets")
    library.collection_add(user=owner, generation=dog, collection=album)
    client.force_login(owner)
    assert neighbours(view(client, dog, f"in=collection&c={album.pk}")) == (None, cat)
    client.force_login(other)
    assert view(client, dog, f"in=collection&c={album.pk}").status_code == 404


def test_delete_moves_to_the_trash_and_shows_the_next_with_undo(client, owner, other, three):
    cat, fox, dog = three
    client.force_login(other)
    assert client.post(reverse("generation_view_trash", args=[fox.pk])).status_code == 404
    client.force_login(owner)
    response = client.post(reverse("generation_view_trash", args=[fox.pk]) + "?in=gallery")
    assert response["Location"] == f"/g/{cat.pk}/view?in=gallery&undo={fox.pk}"
    assert Generation.objects.get(pk=fox.pk).deleted_at is not None
    page = client.get(response["Location"])
    assert neighbours(page) == (dog, None) and page.context["undo"] == fox
    response = client.post(reverse("generation_view_trash", args=[cat.pk]) + "?in=gallery")
    assert response["Location"] == f"/g/{dog.pk}/view?in=gallery&undo={cat.pk}"
    response = client.post(reverse("generation_view_trash", args=[dog.pk]) + "?in=gallery")
    assert response["Location"] == f"/gallery/?undo={dog.pk}"
