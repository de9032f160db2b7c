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
