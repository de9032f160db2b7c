"""Simplified Chinese for the messages the site itself writes."""

from django.urls import reverse

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def test_the_usage_report_speaks_chinese(client, admin_user, done):
    client.force_login(admin_user)
    page = client.get(reverse("staff_usage"), {"group": "provider", "bucket": "month"}, **ZH).content.decode()
    for words in ("每日消耗点数", "按服务商和月", "至（含当天）", "合计：1 次生成"):
        assert words in page, words
    for english in ("Credits spent per day", "To (inclusive)", "generations,", "(max "):
        assert english not in page, english
    assert 'type="date"' in page


def test_the_admins_credit_actions_speak_chinese(client, admin_user, owner):
    from generations.billing import ledger

    client.force_login(admin_user)
    url = reverse("admin:generations_creditaccount_changelist")
    account = ledger.account_for(owner)
    listing = client.get(url, **ZH).content.decode()
    assert "为所选账户发放点数" in listing and "Grant credits to the selected accounts" not in listing
    form = client.post(url, {"action": "grant_credits", "_selected_action": [account.pk]}, **ZH)
    page = form.content.decode()
    for words in ("发放点数：已选 1 个", "点数，正整数。", "进行此修改的原因"):
        assert words in page, words
    for english in ("Credits, a positive number.", "Why you make this change", "selected:"):
        assert english not in page, english
    data = {"action": "grant_credits", "_selected_action": [account.pk], "apply": "1"}
    done = client.post(url, {**data, "amount": "5", "reason": "欢迎"}, follow=True, **ZH)
    assert "发放点数：已完成 1 个。" in done.content.decode()
