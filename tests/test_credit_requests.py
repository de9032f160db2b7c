"""A member asks for credits; their team admin (from the pool) or a site admin
(a grant) answers in one click; the requester is told; nobody else can."""

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from generations.billing import ledger
from generations.models import AuditLog, CreditAccount, CreditEntry, CreditRequest, Team, TeamMembership
from tests.conftest import make_user


@pytest.fixture
def bob(db):
    return make_user("bob", email="bob@example.com")


@pytest.fixture
def carol(db):
    return make_user("carol")


@pytest.fixture
def team(bob, carol):
    """bob is a member and carol the admin of a team whose pool has 248."""
    team = Team.objects.create(name="studio")
    TeamMembership.objects.create(team=team, user=bob)
    TeamMembership.objects.create(team=team, user=carol, is_admin=True)
    ledger.grant(account=ledger.team_account(team), amount=248, note="budget")
    return team


def ask(client, user, amount="40", reason="a client pitch"):
    client.force_login(user)
    return client.post(reverse("credit_request"), {"amount": amount, "reason": reason})


def answer(client, user, request, verdict):
    client.force_login(user)
    return client.post(reverse("credit_request_answer", args=[request.pk, verdict]))


def balances(bob, team):
    return CreditAccount.objects.get(user=bob).balance, CreditAccount.objects.get(team=team).balance


def test_the_team_admin_approves_from_the_pool_and_the_member_is_told(
    client, bob, carol, team, django_capture_on_commit_callbacks
):
    assert ask(client, bob).status_code == 302
    request = CreditRequest.objects.get()
    assert (request.team, request.amount, request.state) == (team, 40, "pending")
    client.force_login(carol)
    assert "1 credit request waiting for an answer" in client.get(reverse("staff_team")).content.decode()
    queue = client.get(reverse("credit_requests")).content.decode()
    assert "a client pitch" in queue and "Approve" in queue
    with django_capture_on_commit_callbacks(execute=True):
        assert answer(client, carol, request, "approve").status_code == 302
    assert balances(bob, team) == (40, 208)
    grant = CreditEntry.objects.get(account__user=bob)
    note = f"credit request #{request.pk}: a client pitch"
    assert (grant.kind, grant.actor, grant.note) == ("grant", carol, note)
    assert set(AuditLog.objects.values_list("action", flat=True)) == {"grant from pool", "give to member"}
    assert ledger.ledger_problems() == []
    assert mail.outbox[0].to == ["bob@example.com"] and "approved by carol" in mail.outbox[0].body
    client.force_login(bob)
    first, second = (client.get(reverse("gallery")).content.decode() for _ in range(2))
    assert "Your request for 40 credits was approved by carol." in first
    assert "was approved" not in second  # told once
    assert "from the team pool" in client.get(reverse("credits")).content.decode()


def test_a_site_admin_approves_with_a_grant_and_a_decline_moves_nothing(client, bob, admin_user, team):
    ask(client, bob, amount="15")
    ask(client, bob, amount="500", reason="too much")
    small, big = CreditRequest.objects.order_by("amount")
    answer(client, admin_user, small, "approve")
    answer(client, admin_user, big, "decline")
    assert balances(bob, team) == (15, 248)  # new credits, not the pool's
    small.refresh_from_db()
    big.refresh_from_db()
    assert (small.state, small.from_pool, big.state) == ("approved", False, "declined")
    assert AuditLog.objects.get().action == "grant"
    again = answer(client, admin_user, small, "approve")  # a second click changes nothing
    assert again.status_code == 302 and balances(bob, team) == (15, 248)


def test_view_only_staff_and_strangers_change_nothing(client, bob, carol, team):
    ask(client, bob)
    request = CreditRequest.objects.get()
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_creditrequest"))
    client.force_login(viewer)
    queue = client.get(reverse("credit_requests")).content.decode()
    assert "a client pitch" in queue and "View only" in queue and "Approve" not in queue
    outsider = make_user("dave")
    other_team = Team.objects.create(name="other")
    TeamMembership.objects.create(team=other_team, user=outsider, is_admin=True)
    client.force_login(outsider)  # another team's admin sees only their own team's
    assert "a client pitch" not in client.get(reverse("credit_requests")).content.decode()
    for user in (viewer, outsider, bob):  # bob may not approve his own
        assert answer(client, user, request, "approve").status_code == 403
    assert client.get(reverse("credit_requests")).status_code == 403  # bob: no queue
    request.refresh_from_db()
    assert request.state == "pending" and balances(bob, team) == (0, 248)


def test_a_short_or_frozen_pool_is_named_and_nothing_moves(client, bob, carol, team):
    ask(client, bob, amount="300")
    request = CreditRequest.objects.get()
    answer(client, carol, request, "approve")
    page = client.get(reverse("credit_requests")).content.decode()
    assert "The team pool has only 248 credits" in page
    CreditAccount.objects.filter(team=team).update(frozen=True)
    answer(client, carol, request, "approve")
    assert "The team pool is frozen" in client.get(reverse("credit_requests")).content.decode()
    request.refresh_from_db()
    assert request.state == "pending" and balances(bob, team) == (0, 248)


@pytest.mark.parametrize(
    ("amount", "reason", "said"),
    [
        ("0", "x", "greater than or equal to 1"),
        ("10", "   ", "This field is required"),
        ("abc", "x", "whole number"),
    ],
)
def test_bad_input_is_named_on_the_form_and_kept(client, bob, amount, reason, said):
    response = ask(client, bob, amount=amount, reason=reason)
    page = response.content.decode()
    assert response.status_code == 400 and said in page and not CreditRequest.objects.exists()
    assert f'value="{amount}"' in page or amount == "abc"


def test_a_member_may_have_three_requests_waiting_at_once(client, bob):
    for _ in range(3):
        assert ask(client, bob).status_code == 302
    response = ask(client, bob)
    assert response.status_code == 400 and "3 requests waiting" in response.content.decode()


def test_a_chinese_reader_gets_the_pool_the_request_form_and_the_answer_in_chinese(client, bob, carol, team):
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})  # a cookie: every user here
    ask(client, bob)
    page = client.get(reverse("credits")).content.decode()
    assert "申请额度" in page and "studio 的团队额度池" in page and "等待答复" in page
    assert "(团队池 248 + 个人 0)" in page
    line = client.post(reverse("generate_quote"), {"prompt": "x", "provider": "demo", "size": "1024x1024"})
    assert "由团队额度池支付" in line.content.decode()
    answer(client, carol, CreditRequest.objects.get(), "decline")
    client.force_login(bob)
    assert "你申请的 40 额度已被 carol 拒绝。" in client.get(reverse("gallery")).content.decode()


def test_a_member_who_left_the_team_is_answered_by_a_site_admin_not_from_the_pool(
    client, bob, carol, team, admin_user
):
    ask(client, bob)
    request = CreditRequest.objects.get()
    TeamMembership.objects.filter(user=bob).delete()
    client.force_login(carol)
    assert "a client pitch" not in client.get(reverse("credit_requests")).content.decode()
    assert answer(client, carol, request, "approve").status_code == 403
    assert balances(bob, team) == (0, 248)
    answer(client, admin_user, request, "approve")
    assert balances(bob, team) == (40, 248)
