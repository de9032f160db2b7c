from generations import credits
from generations.models import CreditEntry


def test_it_lets_an_admin_grant_credits_with_a_reason(client, admin_user, owner):
    client.force_login(admin_user)
    account = credits.account_for(owner)
    url = f"/admin/generations/creditaccount/{account.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and "grant_amount" in page.content.decode()
    response = client.post(url, {"max_concurrent": 0, "grant_amount": 50,
                                 "grant_reason": "welcome bonus",
                                 "entries-TOTAL_FORMS": 0, "entries-INITIAL_FORMS": 0})
    assert response.status_code == 302
    entry = CreditEntry.objects.filter(account=account).first()
    assert (entry.amount, entry.actor, entry.note) == (50, admin_user, "welcome bonus")
    assert credits.balance(user=owner).available == 150


def test_a_grant_without_a_reason_is_refused(client, admin_user, owner):
    client.force_login(admin_user)
    account = credits.account_for(owner)
    response = client.post(f"/admin/generations/creditaccount/{account.pk}/change/",
                           {"max_concurrent": 0, "grant_amount": 50, "grant_reason": "",
                            "entries-TOTAL_FORMS": 0, "entries-INITIAL_FORMS": 0})
    assert response.status_code == 200 and "Give a reason" in response.content.decode()
    assert credits.balance(user=owner).available == 100


def test_the_admin_lists_generations_accounts_and_entries(client, admin_user):
    client.force_login(admin_user)
    for model in ("generation", "creditaccount", "creditentry", "providerconfig"):
        assert client.get(f"/admin/generations/{model}/").status_code == 200


def test_non_staff_cannot_reach_the_admin(client, owner):
    client.force_login(owner)
    response = client.get("/admin/generations/creditaccount/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
