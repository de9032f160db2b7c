"""GET/POST /api/v1/credit-requests/: ask, read the answer; team admins and
site admins list what they may answer and approve or decline it."""

from generations.billing import ledger
from generations.models import CreditAccount, Team, TeamMembership
from tests.api.conftest import client_for
from tests.conftest import make_user


def test_a_member_asks_and_their_team_admin_approves_from_the_pool(api, owner):
    team = Team.objects.create(name="studio")
    TeamMembership.objects.create(team=team, user=owner)
    carol = make_user("carol")
    TeamMembership.objects.create(team=team, user=carol, is_admin=True)
    ledger.grant(account=ledger.team_account(team), amount=50, note="budget")
    made = api.post("/api/v1/credit-requests/", {"amount": 20, "reason": "posters"}, format="json")
    assert made.status_code == 201
    body = made.json()
    shown = (body["amount"], body["state"], body["team"], body["requester"])
    assert shown == (20, "pending", "studio", "alice")
    admin_api = client_for(carol)
    assert [r["id"] for r in admin_api.get("/api/v1/credit-requests/pending/").json()] == [body["id"]]
    answered = admin_api.post(f"/api/v1/credit-requests/{body['id']}/approve/").json()
    assert (answered["state"], answered["from_pool"], answered["decided_by"]) == ("approved", True, "carol")
    assert api.get(f"/api/v1/credit-requests/{body['id']}/").json()["state"] == "approved"
    assert CreditAccount.objects.get(team=team).balance == 30
    assert api.get("/api/v1/me/").json()["balance"] == 100 + 20 + 30
    again = admin_api.post(f"/api/v1/credit-requests/{body['id']}/decline/")
    assert again.status_code == 400 and "answered already" in str(again.json())


def test_bad_requests_are_named_and_a_member_cannot_answer(api, other_api):
    bad = api.post("/api/v1/credit-requests/", {"amount": 0, "reason": ""}, format="json")
    assert bad.status_code == 400 and {"amount", "reason"} <= bad.json()["error"]["fields"].keys()
    mine = api.post("/api/v1/credit-requests/", {"amount": 5, "reason": "x"}, format="json").json()
    assert other_api.get("/api/v1/credit-requests/pending/").json() == []
    assert other_api.post(f"/api/v1/credit-requests/{mine['id']}/approve/").status_code == 404
    assert api.post(f"/api/v1/credit-requests/{mine['id']}/approve/").status_code == 404  # not your own
