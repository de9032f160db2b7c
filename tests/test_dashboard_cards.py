"""Honest cards: a failed or canceled image says "refunded", not its price,
and offers no sharing; "Share with my team" only for someone on a team."""

import pytest
from django.urls import reverse

from generations.lifecycle import library, services, status
from generations.models import Generation
from tests.test_dashboard import team_up


@pytest.fixture
def failed(owner):
    g = services.generation_create(user=owner, prompt="broken", width=1024, height=1024, provider="demo")
    status.generation_fail(generation=g, code="InvalidParameter", message="The provider refused it.")
    return Generation.objects.get(pk=g.pk)


@pytest.fixture
def canceled(owner):
    g = services.generation_create(user=owner, prompt="never mind", width=1024, height=1024, provider="demo")
    status.generation_cancel(generation=g)
    return Generation.objects.get(pk=g.pk)


@pytest.fixture
def album(owner, done):
    return library.collection_add(user=owner, generation=done, new_name="Foxes")


def card_of(page: str, g) -> str:
    start = page.index(f'id="gen-{g.pk}"')
    return page[start : page.index("</article>", start)]


def test_failed_and_canceled_cards_say_refunded_not_their_price(client, owner, done, failed, canceled):
    client.force_login(owner)
    page = client.get(reverse("gallery")).content.decode()
    for g in (failed, canceled):
        assert g.credits_cost == 2 and "refunded" in card_of(page, g) and "credits" not in card_of(page, g)
    assert "2 credits" in card_of(page, done) and "refunded" not in card_of(page, done)
    detail = client.get(reverse("generation_detail", args=[failed.pk])).content.decode()
    assert "Refunded: nothing was charged." in detail and "2 credits" not in detail


def test_failed_and_canceled_images_offer_no_sharing(client, owner, failed, canceled):
    team_up(owner)
    client.force_login(owner)
    for g in (failed, canceled):
        page = client.get(reverse("generation_detail", args=[g.pk])).content.decode()
        assert "Create public link" not in page and "Share with my team" not in page
        for action in ("link", "team_on"):
            response = client.post(reverse("generation_share", args=[g.pk]), {"action": action}, follow=True)
            assert "Only a finished image can be shared." in response.content.decode()
        g.refresh_from_db()
        assert g.public_token is None and not g.shared_with_team


def test_share_with_team_is_offered_only_on_a_team(client, owner, done, album):
    client.force_login(owner)
    for url in (reverse("generation_detail", args=[done.pk]), reverse("collection", args=[album.pk])):
        page = client.get(url).content.decode()
        assert "Share with my team" not in page and "Create public link" in page
    response = client.post(reverse("generation_share", args=[done.pk]), {"action": "team_on"}, follow=True)
    assert "Shared with your team" not in response.content.decode()
    assert "You are not on a team yet" in response.content.decode()
    done.refresh_from_db()
    assert not done.shared_with_team
    team_up(owner)
    assert "Share with my team" in client.get(reverse("generation_detail", args=[done.pk])).content.decode()
    client.post(reverse("generation_share", args=[done.pk]), {"action": "team_on"})
    done.refresh_from_db()
    assert done.shared_with_team
