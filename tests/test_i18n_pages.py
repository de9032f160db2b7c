"""Every page and form error, rendered in Simplified Chinese, has no English
sentence the site wrote itself: a string forgotten by gettext, or one never
marked for translation, fails here. What users typed is in Chinese in these
fixtures, so any run of English words left on a page is the site's."""

import re

import pytest
from django.urls import reverse

from generations.billing import ledger
from generations.lifecycle import library, pipeline, services, status
from generations.models import Generation, Team, TeamMembership
from generations.providers.registry import REGISTRY

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
# English that may stay: names, codes, units and the product's own name.
ALLOWED = [
    "Z-Image Studio",
    "Z-Image",
    "prompt_extend",
    "Ctrl",
    "Enter",
    "Esc",
    "Delete",
    "API",
    "CSV",
    "ZIP",
    "Shift",
    "Webhook",
    "Alibaba Cloud DashScope",  # a provider's product name (the setup checklist)
    *sorted(REGISTRY, key=len, reverse=True),  # provider names, as in the filters
]
SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
ENGLISH_RUN = re.compile(r"[A-Za-z][a-z']+(?:[ ,;:]+[A-Za-z][a-z']*){2,}")


def visible_text(html: str) -> str:
    text = SCRIPT_OR_STYLE.sub(" ", html)
    text = re.sub(r"<[^>]+>", " ", text)
    for allowed in ALLOWED:
        text = text.replace(allowed, " ")
    return " ".join(text.split())


def english_in(html: str) -> list[str]:
    return ENGLISH_RUN.findall(visible_text(html))


@pytest.fixture
def studio(owner, other):
    """alice with a made, a failed and a trashed image, a saved prompt, a
    collection, a token and a team (she is its admin, bob a member)."""
    made = []
    for prompt in ("雪地里的狐狸", "夜晚的城市", "回收站里的猫"):
        g = services.generation_create(user=owner, prompt=prompt, width=1024, height=1024, provider="demo")
        pipeline.generation_run(generation_id=g.pk)
        made.append(g)
    failed = services.generation_create(user=owner, prompt="失败", width=1024, height=1024, provider="demo")
    status.generation_fail(generation=failed, code="InvalidParameter", message="refused")
    library.generation_trash(generation=made[2])
    saved = library.prompt_save(user=owner, text="城市夜景", title="夜景", tags="城市")
    album = library.collection_add(user=owner, generation=made[0], new_name="狐狸")
    team = Team.objects.create(name="工作室")
    TeamMembership.objects.create(team=team, user=owner, is_admin=True)
    TeamMembership.objects.create(team=team, user=other)
    library.share_with_team(item=made[1], shared=True)
    return {"made": made, "failed": failed, "saved": saved, "album": album}


FORM = {"prompt": "小", "provider": "demo", "size": "1024x1024"}


def pages(studio) -> list[tuple[str, str, dict]]:
    """(method, url, data) of every page alice reaches, errors included."""
    fox, city, _ = studio["made"]
    failed, saved, album = studio["failed"], studio["saved"], studio["album"]
    g = [fox.pk]
    return [
        ("get", reverse("home"), {}),
        ("get", reverse("home") + f"?remix={fox.pk}", {}),
        ("post", reverse("home"), {**FORM, "prompt": "长" * 4001}),
        ("post", reverse("home"), {**FORM, "size": "9x9"}),
        ("post", reverse("home"), {**FORM, "seed_mode": "fixed"}),
        ("post", reverse("generate_quote"), FORM),
        ("get", reverse("batches"), {}),
        ("get", reverse("gallery"), {}),
        ("get", reverse("gallery") + "?size=huge&date_from=99999-01-01", {}),
        ("get", reverse("generation_detail", args=g), {}),
        ("get", reverse("generation_detail", args=[failed.pk]), {}),
        ("get", reverse("generation_view", args=g) + "?in=gallery", {}),
        ("get", reverse("trash"), {}),
        ("get", reverse("trash_empty"), {}),
        ("get", reverse("team"), {}),
        ("get", reverse("prompts"), {}),
        ("post", reverse("prompts"), {"text": ""}),
        ("get", reverse("prompt_edit", args=[saved.pk]), {}),
        ("get", reverse("collections"), {}),
        ("get", reverse("collection", args=[album.pk]), {}),
        ("get", reverse("credits"), {}),
        ("get", reverse("tokens"), {}),
        ("post", reverse("tokens"), {"name": "", "expires_days": "0"}),
        ("get", reverse("staff_team"), {}),
        ("get", reverse("password_change"), {}),
    ]


def test_every_page_and_form_error_is_in_chinese(client, owner, studio):
    ledger.account_for(owner)
    client.force_login(owner)
    found = {}
    for method, url, data in pages(studio):
        response = getattr(client, method)(url, data, **ZH)
        assert response.status_code in (200, 400), (url, response.status_code)
        if english := english_in(response.content.decode()):
            found[f"{method} {url} {sorted(data)}"] = english
    assert found == {}


def test_the_staff_pages_and_credit_actions_are_in_chinese(client, admin_user, owner, studio):
    client.force_login(admin_user)
    found = {}
    client.post(reverse("staff_setup_test", args=["demo"]), **ZH)
    tested = Generation.objects.get(owner=admin_user)  # the test image, shown on the checklist
    assert tested.status == "succeeded"
    for url in (
        reverse("staff_usage"),
        reverse("staff_usage") + "?start=0001-01-01",
        reverse("home"),  # with the banner: only the demo is configured
        reverse("staff_setup"),
        reverse("staff_setup") + f"?tested={tested.pk}",
    ):
        if english := english_in(client.get(url, **ZH).content.decode()):
            found[url] = english
    accounts = reverse("admin:generations_creditaccount_changelist")
    chosen = {"_selected_action": [ledger.account_for(owner).pk]}
    for action in ("grant_credits", "deduct_credits", "set_allowance", "freeze"):
        page = client.post(accounts, {"action": action, **chosen}, **ZH).content.decode()
        if english := english_in(page[page.index('id="content"') :]):  # the admin's own frame aside
            found[action] = english
    assert found == {}


def test_a_public_link_page_is_in_chinese(client, owner, studio):
    token = library.share_link_create(item=studio["made"][0])
    assert english_in(client.get(reverse("shared", args=[token]), **ZH).content.decode()) == []


def test_the_check_finds_english(client, owner):
    found = english_in("<p>Only a finished image can be shared.</p>")
    assert found == ["Only a finished image can be shared"]
    assert english_in("<p>只有已完成的图片才能分享。</p><script>var a = 'is not shown'</script>") == []
