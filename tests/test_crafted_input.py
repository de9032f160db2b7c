"""Crafted cursors and ids from a client answer 404 or the first page, never a
500: the review's siblings of issue 18's far-future dates."""

import base64
import uuid
from urllib.parse import urlencode

import pytest

from tests.api.conftest import client_for, make_generation


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


EDGE_TIMES = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "garbage", "2026-01-01T00:00:00"]


@pytest.mark.parametrize("position", EDGE_TIMES)
@pytest.mark.parametrize("url", ["/api/v1/generations/", "/api/v1/prompts/"])
def test_a_crafted_api_cursor_is_refused_not_a_500(owner, url, position):
    make_generation(owner)
    cursor = b64(urlencode({"o": 0, "p": position}))
    response = client_for(owner).get(url, {"cursor": cursor})
    assert response.status_code in (200, 404), response.content[:200]
    if "generations" in url:  # the list paged by time: a bad position is an invalid cursor
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("when", EDGE_TIMES)
def test_a_crafted_gallery_cursor_shows_the_first_page(client, owner, when):
    make_generation(owner)
    client.force_login(owner)
    response = client.get("/gallery/", {"cursor": b64(f"{when}|{uuid.uuid4()}")})
    assert response.status_code == 200


@pytest.mark.parametrize("account", ["abc", "", "1e3", "-1"])
def test_the_team_page_answers_404_for_an_account_that_is_not_a_number(client, owner, other, account):
    from generations.models import Team, TeamMembership

    team = Team.objects.create(name="t")
    TeamMembership.objects.create(team=team, user=owner, is_admin=True)
    TeamMembership.objects.create(team=team, user=other)
    client.force_login(owner)
    assert client.post("/staff/team/", {"account": account}).status_code == 404
