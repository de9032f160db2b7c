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


def test_size_and_prompt_length_errors_speak_chinese(client, owner):
    from generations.models import Generation

    client.force_login(owner)
    form = {"provider": "demo", "seed_mode": "random"}
    long = client.post(reverse("home"), {**form, "prompt": "长" * 4001, "size": "1024x1024"}, **ZH)
    assert "提示词有 4001 个字符；此服务商最多接受 4000 个。" in long.content.decode()
    tiny = {"prompt": "小", "size": "custom", "width": 64, "height": 64}
    small = client.post(reverse("home"), {**form, **tiny}, **ZH)
    assert "低于此服务商" in small.content.decode() and "below this provider" not in small.content.decode()
    bad = client.post(reverse("home"), {**form, "prompt": "小", "size": "huge"}, **ZH)
    assert "尺寸格式应为 1024x1024（宽 x 高）。" in bad.content.decode()
    assert not Generation.objects.exists()
    english = client.post(reverse("home"), {**form, "prompt": "x" * 4001, "size": "1024x1024"})
    assert "The prompt has 4001 characters" in english.content.decode()


def test_limits_and_a_short_balance_speak_chinese(client, owner):
    from generations.billing import ledger
    from generations.models import CreditAccount, Generation
    from tests.conftest import make_user

    form = {"prompt": "小狐狸", "provider": "demo", "size": "1024x1024", "seed_mode": "random"}
    poor = make_user("poor", credits_amount=1)
    client.force_login(poor)
    page = client.post(reverse("home"), form, **ZH).content.decode()
    assert "这张图片需要 2 点数，但只有 1 点可用。" in page
    CreditAccount.objects.filter(pk=ledger.account_for(owner).pk).update(max_per_minute=1)
    client.force_login(owner)
    client.post(reverse("home"), form, **ZH)
    again = client.post(reverse("home"), form, **ZH).content.decode()
    assert "你每分钟最多可开始 1 张图片" in again and "images a minute" not in again
    CreditAccount.objects.filter(pk=ledger.account_for(owner).pk).update(frozen=True)
    quote = client.post(reverse("generate_quote"), form, **ZH).content.decode()
    assert "你的账户已被管理员冻结" in quote and "frozen by an admin" not in quote
    assert Generation.objects.count() == 1


def test_a_batchs_problems_speak_chinese(client, owner):
    client.force_login(owner)
    sweep = {"kind": "sweep", "prompt": "狐狸", "provider": "demo", "size": "1024x1024"}
    page = client.post(reverse("batch_quote"), {**sweep, "seeds": "9-1"}, **ZH).content.decode()
    assert "范围“9-1”是倒序的。" in page and "runs backwards" not in page
    listed = {"kind": "list", "prompts": "狐狸\n" + "长" * 5000, "provider": "demo", "size": "1024x1024"}
    page = client.post(reverse("batch_quote"), listed, **ZH).content.decode()
    assert "第 2 张图片：提示词有 5000 个字符" in page
