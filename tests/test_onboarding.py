"""A user has a credit account, with the starting credits, from the moment
they exist; the admin's user page links to it; whoever has none is told
whom to ask."""

import importlib

from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import reverse

from generations.billing import ledger, quotas
from generations.models import CreditAccount, CreditEntry
from tests.conftest import make_user


def test_a_user_made_in_the_admin_has_an_account_with_the_starting_credits(client, admin_user, settings):
    settings.STARTING_CREDITS = 50
    client.force_login(admin_user)
    form = {"username": "newbie", "password1": "a-long-pass-42", "password2": "a-long-pass-42"}
    form["usable_password"] = "true"
    response = client.post(reverse("admin:auth_user_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    newbie = get_user_model().objects.get(username="newbie")
    account = CreditAccount.objects.get(user=newbie)  # before any visit of theirs
    assert account.balance == 50
    assert CreditEntry.objects.get(account=account).note == "starting credits"
    quotas.account_grant(account=account, amount=25, actor=admin_user, reason="welcome")
    account.refresh_from_db()
    assert account.balance == 75 and ledger.ledger_problems() == []


def test_starting_credits_are_granted_once_and_none_is_no_entry(db, settings):
    settings.STARTING_CREDITS = 0
    quiet = make_user("quiet")
    assert CreditAccount.objects.get(user=quiet).balance == 0
    assert not CreditEntry.objects.exists()
    settings.STARTING_CREDITS = 10
    loud = make_user("loud")
    ledger.account_open(loud)  # a second call, as bootstrap_admin's grant would be
    assert CreditAccount.objects.get(user=loud).balance == 10


def test_the_data_migration_opens_an_account_for_every_user_without_one(db):
    alice, bob = make_user("alice", credits_amount=5), make_user("bob")
    CreditAccount.objects.filter(user=bob).delete()  # as before accounts came with users
    migration = importlib.import_module("generations.migrations.0008_credit_accounts_for_every_user")
    migration.open_missing_accounts(apps, None)
    assert CreditAccount.objects.get(user=bob).balance == 0
    assert CreditAccount.objects.get(user=alice).balance == 5
    assert ledger.ledger_problems() == []


def test_the_admin_user_page_links_to_the_users_credits(client, admin_user, owner):
    client.force_login(admin_user)
    account = CreditAccount.objects.get(user=owner)
    link = reverse("admin:generations_creditaccount_change", args=[account.pk])
    page = client.get(reverse("admin:auth_user_change", args=[owner.pk])).content.decode()
    assert f'<a href="{link}">100 (0 held)</a>' in page
    listing = client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert link in listing


def test_a_user_without_admin_rights_cannot_open_the_user_admin(client, owner):
    client.force_login(owner)
    response = client.get(reverse("admin:auth_user_change", args=[owner.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]
