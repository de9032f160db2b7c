"""The dashboard's pages: what the owner can do, and what nobody else can."""

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from generations.billing import ledger
from generations.dashboard import gallery
from generations.lifecycle import library, pipeline, services, status
from generations.models import Collection, Generation, Prompt, Tag, Team, TeamMembership

HTMX = {"HTTP_HX_REQUEST": "true"}


def served(response) -> bool:
    """An image answer: the file itself, or on S3 a redirect to a presigned URL."""
    if django_settings.STORAGE_BACKEND == "s3":
        return response.status_code == 302 and "X-Amz-Signature" in response["Location"]
    return response.status_code == 200


def make(user, prompt="a fox", **kw):
    gen = services.generation_create(
        user=user, prompt=prompt, width=1024, height=1024, provider="demo", **{"seed": 1, **kw}
    )
    pipeline.generation_run(generation_id=gen.pk)
    gen.refresh_from_db()
    return gen


@pytest.fixture
def album(owner, done):
    return library.collection_add(user=owner, generation=done, new_name="Foxes")


@pytest.fixture
def saved(owner):
    return library.prompt_save(user=owner, text="a cat", tags="cats")


def owner_only_urls(gen, album, saved):
    """Every page and action that only the owner may reach, as (method, url)."""
    g = [gen.pk]
    tag = library.tags_get_or_create(user=gen.owner, names=["mine"])[0]
    gen.tags.add(tag)
    return [
        ("get", reverse("generation_card", args=g)),
        ("post", reverse("generation_untag", args=[gen.pk, tag.pk])),
        ("get", reverse("generation_status", args=g)),
        *[
            ("post", reverse(name, args=g))
            for name in (
                "generation_cancel",
                "generation_remix",
                "generation_save_prompt",
                "generation_tag",
                "generation_collect",
                "generation_share",
                "generation_delete",
                "generation_restore",
            )
        ],
        ("get", reverse("prompt_edit", args=[saved.pk])),
        ("post", reverse("prompt_delete", args=[saved.pk])),
        ("post", reverse("collection_share", args=[album.pk])),
        ("post", reverse("collection_delete", args=[album.pk])),
        ("post", reverse("collection_remove", args=[album.pk, gen.pk])),
    ]


def readable_urls(gen, album):
    g = [gen.pk]
    return [
        reverse("generation_detail", args=g),
        reverse("generation_image", args=g),
        reverse("generation_thumbnail", args=g),
        reverse("collection", args=[album.pk]),
    ]


def test_it_shows_every_page_to_the_owner(client, owner, done, album, saved):
    client.force_login(owner)
    for name in ("home", "gallery", "trash", "team", "prompts", "collections", "credits", "tokens"):
        assert client.get(reverse(name)).status_code == 200, name
    for url in readable_urls(done, album) + [reverse("prompt_edit", args=[saved.pk])]:
        response = client.get(url)
        assert response.status_code == 200 or served(response), url


def test_it_is_a_404_for_another_user_on_every_view(client, other, done, album, saved):
    client.force_login(other)
    for url in readable_urls(done, album):
        assert client.get(url).status_code == 404, url
    for method, url in owner_only_urls(done, album, saved):
        assert getattr(client, method)(url, {"action": "link", "tags": "x"}).status_code == 404, url
    assert "a fox" not in client.get(reverse("gallery")).content.decode()
    assert "a cat" not in client.get(reverse("prompts")).content.decode()
    assert "Foxes" not in client.get(reverse("collections")).content.decode()
    assert client.get(reverse("home") + f"?prompt={saved.pk}").context["form"]["prompt"].value() in (None, "")
    assert client.get(reverse("home") + "?prompt=not-a-number").status_code == 200
    client.post(
        reverse("home"), {"prompt": "x", "provider": "demo", "size": "1024x1024", "saved_prompt": saved.pk}
    )
    assert Generation.objects.get(prompt="x").saved_prompt is None


def test_it_requires_sign_in_everywhere_but_public_links(client, done, album, saved):
    for url in readable_urls(done, album) + [
        reverse(n) for n in ("gallery", "trash", "team", "prompts", "collections", "credits", "tokens")
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def team_up(*users, name="studio"):
    team = Team.objects.create(name=name)
    for user in users:
        TeamMembership.objects.create(team=team, user=user)


def test_it_shows_team_shared_items_read_only_to_teammates(client, owner, other, done, album):
    team_up(owner, other)
    client.force_login(other)
    assert client.get(reverse("generation_detail", args=[done.pk])).status_code == 404
    library.share_with_team(item=done, shared=True)
    page = client.get(reverse("generation_detail", args=[done.pk])).content.decode()
    assert "Shared by alice (read-only)" in page and "Remix" in page and "Delete" not in page
    assert served(client.get(reverse("generation_image", args=[done.pk])))
    assert client.post(reverse("generation_delete", args=[done.pk])).status_code == 404
    assert "a fox" in client.get(reverse("team")).content.decode()


def test_it_shares_a_collection_with_the_team_and_its_images(client, owner, other, done, album):
    team_up(owner, other)
    client.force_login(other)
    assert client.get(reverse("collection", args=[album.pk])).status_code == 404
    library.share_with_team(item=album, shared=True)
    assert "a fox" in client.get(reverse("collection", args=[album.pk])).content.decode()
    assert served(client.get(reverse("generation_thumbnail", args=[done.pk])))
    assert client.post(reverse("collection_delete", args=[album.pk])).status_code == 404


def test_it_does_not_share_with_users_outside_the_team(client, owner, other, done):
    team_up(owner, name="alice's team")
    team_up(other, name="bob's team")
    library.share_with_team(item=done, shared=True)
    client.force_login(other)
    assert client.get(reverse("generation_detail", args=[done.pk])).status_code == 404


def test_it_serves_a_public_link_anonymously_until_revoked(client, owner, done):
    client.force_login(owner)
    client.post(reverse("generation_share", args=[done.pk]), {"action": "link"})
    done.refresh_from_db()
    token = done.public_token
    assert len(token) >= 40
    client.logout()
    assert "a fox" in client.get(reverse("shared", args=[token])).content.decode()
    assert served(client.get(reverse("shared_image", args=[token, done.pk])))
    client.force_login(owner)
    client.post(reverse("generation_share", args=[done.pk]), {"action": "revoke"})
    client.logout()
    assert client.get(reverse("shared", args=[token])).status_code == 404
    assert client.get(reverse("shared_image", args=[token, done.pk])).status_code == 404


def test_a_public_collection_link_serves_only_its_own_images(client, owner, done, album):
    outside = make(owner, prompt="not shared")
    token = library.share_link_create(item=album)
    assert served(client.get(reverse("shared_thumbnail", args=[token, done.pk])))
    assert client.get(reverse("shared_image", args=[token, outside.pk])).status_code == 404
    assert client.get(reverse("shared", args=["not-a-token"])).status_code == 404


def test_it_quotes_the_price_and_the_balance_after(client, owner):
    client.force_login(owner)
    form = {"prompt": "", "provider": "demo", "size": "1024x1024", "prompt_extend": "on"}
    page = client.post(reverse("generate_quote"), form).content.decode()
    assert "Costs 3 credits" in page and "balance after: 97" in page
    page = client.post(reverse("generate_quote"), {**form, "size": "4096x4096"}).content.decode()
    assert "above this provider" in page


def test_an_htmx_submit_returns_a_live_card(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("home"),
        {
            "prompt": "小狐狸",
            "provider": "demo",
            "size": "custom",
            "width": 768,
            "height": 1360,
            "seed_mode": "random",
        },
        **HTMX,
    )
    page = response.content.decode()
    gen = Generation.objects.get()
    assert (gen.width, gen.height, gen.seed) == (768, 1360, None) and gen.seed_used is not None
    assert f'hx-get="{reverse("generation_card", args=[gen.pk])}"' in page
    assert 'hx-trigger="every 1s"' in page and 'hx-swap-oob="true">98<' in page
    assert "generationCreated" in response["HX-Trigger"]
    assert '<div id="form-errors" role="alert" hx-swap-oob="true"></div>' in page  # old errors go


def test_an_htmx_submit_with_errors_retargets_the_error_box(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("home"), {"prompt": "x" * 5000, "provider": "demo", "size": "1024x1024"}, **HTMX
    )
    assert response["HX-Retarget"] == "#form-errors"
    assert "at most 4000" in response.content.decode()
    assert not Generation.objects.exists()


def test_a_finished_card_stops_polling(client, owner, done):
    client.force_login(owner)
    page = client.get(reverse("generation_card", args=[done.pk])).content.decode()
    assert "hx-trigger" not in page.split("hx-swap-oob")[0] and "Done" in page
    response = client.get(reverse("generation_card", args=[done.pk]), {"reload": 1})
    assert response["HX-Refresh"] == "true"  # the detail page reloads to show every field


def test_a_queued_card_cancels_in_place(client, owner):
    gen = services.generation_create(
        user=owner, prompt="never mind", width=1024, height=1024, provider="demo"
    )
    client.force_login(owner)
    assert "Cancel</button>" in client.get(reverse("home")).content.decode()
    page = client.post(reverse("generation_cancel", args=[gen.pk]), **HTMX).content.decode()
    assert "Canceled" in page and "hx-trigger" not in page and 'hx-swap-oob="true">100<' in page


def test_an_in_flight_detail_page_polls_its_card(client, owner):
    gen = services.generation_create(user=owner, prompt="slow", width=1024, height=1024, provider="demo")
    client.force_login(owner)
    page = client.get(reverse("generation_detail", args=[gen.pk])).content.decode()
    assert f'hx-get="{reverse("generation_card", args=[gen.pk])}?reload=1"' in page
    assert "<progress" in page and "Queued: waiting for a worker" in page


def test_it_reuses_the_last_seed(client, owner, done):
    client.force_login(owner)
    client.post(
        reverse("home"), {"prompt": "again", "provider": "demo", "size": "1024x1024", "seed_mode": "reuse"}
    )
    assert Generation.objects.get(prompt="again").seed == done.seed_used


def test_it_deletes_with_undo_and_purges_files(client, owner, done):
    client.force_login(owner)
    response = client.post(reverse("generation_delete", args=[done.pk]))
    assert response["Location"].endswith(f"?undo={done.pk}")
    page = client.get(response["Location"]).content.decode()
    assert "Undo" in page and "a fox</p>" not in page
    client.post(reverse("generation_restore", args=[done.pk]))
    assert "a fox" in client.get(reverse("gallery")).content.decode()
    library.generation_trash(generation=done)
    assert "a fox" in client.get(reverse("trash")).content.decode()
    image, thumb = done.image.name, done.thumbnail.name
    client.post(reverse("trash_empty"), {"confirm": "yes"})
    assert not default_storage.exists(image) and not default_storage.exists(thumb)
    assert "a fox" not in client.get(reverse("trash")).content.decode()
    client.post(reverse("generation_restore", args=[done.pk]))
    assert "a fox" not in client.get(reverse("gallery")).content.decode()
    assert ledger.ledger_problems() == []


def test_the_periodic_purge_keeps_recent_trash(owner, done):
    library.generation_trash(generation=done)
    assert library.trash_purge(older_than=library.trash_retention()) == 0
    Generation.objects.filter(pk=done.pk).update(deleted_at="2000-01-01T00:00:00Z")
    assert library.trash_purge(older_than=library.trash_retention()) == 1


def test_it_tags_collects_and_filters_the_gallery(client, owner, done):
    other_gen = make(owner, prompt="夜晚的城市")
    client.force_login(owner)
    client.post(reverse("generation_tag", args=[done.pk]), {"tags": "animals, 动物"})
    assert set(done.tags.values_list("name", flat=True)) == {"animals", "动物"}
    client.post(reverse("generation_collect", args=[other_gen.pk]), {"new_name": "城市"})
    album = Collection.objects.get(name="城市")

    def shown(**params):
        page = client.get(reverse("gallery"), params).content.decode()
        return {g.prompt for g in (done, other_gen) if g.prompt in page}

    assert shown(tag="动物") == {"a fox"}
    assert shown(collection=album.pk) == {"夜晚的城市"}
    assert shown(q="城市") == {"夜晚的城市"}
    assert shown(q="FOX") == {"a fox"}
    assert shown(status="failed") == set()
    assert shown(size="1024x1024", provider="demo") == {"a fox", "夜晚的城市"}


def test_the_prompt_library_prefills_generate(client, owner, saved):
    client.force_login(owner)
    client.post(reverse("prompts"), {"title": "Night", "text": "城市夜景", "tags": "city"})
    night = Prompt.objects.get(title="Night")
    assert list(night.tags.values_list("name", flat=True)) == ["city"]
    response = client.get(reverse("home"), {"prompt": night.pk})
    assert "城市夜景</textarea>" in response.content.decode()
    client.post(
        reverse("home"),
        {"prompt": "城市夜景", "provider": "demo", "size": "1024x1024", "saved_prompt": night.pk},
    )
    assert Generation.objects.get().saved_prompt == night


def test_tags_are_per_user(owner, other, done):
    library.generation_tag(generation=done, user=owner, text="x")
    mine = make(other, prompt="b")
    library.generation_tag(generation=mine, user=other, text="x")
    assert Tag.objects.filter(name="x").count() == 2


def test_the_credits_page_shows_the_ledger_and_the_usage_chart(client, owner, done):
    client.force_login(owner)
    page = client.get(reverse("credits")).content.decode()
    assert '<dd id="available">98</dd>' in page and "Monthly allowance" in page
    assert page.count("<rect ") == 30 and ": 2</title>" in page
    assert "test funds" in page


def test_the_gallery_pages_by_cursor_without_gaps(client, owner, settings):
    settings.GALLERY_PAGE_SIZE = 3
    gens = [
        services.generation_create(user=owner, prompt=f"p{i:02d}", width=512, height=512, provider="demo")
        for i in range(8)
    ]
    client.force_login(owner)
    seen, url = [], reverse("gallery")
    while url:
        response = client.get(url)
        seen += [g.prompt for g in response.context["page"].items]
        cursor = response.context["page"].next_cursor
        url = reverse("gallery") + f"?cursor={cursor}" if cursor else None
    assert seen == [g.prompt for g in reversed(gens)]


def test_the_gallery_costs_the_same_queries_for_10_or_40_images(client, owner, settings):
    def count(n):
        Generation.objects.all().delete()
        Generation.objects.bulk_create(
            Generation(
                owner=owner,
                prompt=f"p{i}",
                width=512,
                height=512,
                provider="demo",
                status="succeeded",
                thumbnail=f"t/{i}.webp",
            )
            for i in range(n)
        )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("gallery")).status_code == 200
        return len(queries)

    settings.GALLERY_PAGE_SIZE = 40
    client.force_login(owner)
    count(1)  # the provider configs the filter's choices need are read once, then kept (config_cache)
    assert count(10) == count(40)


def test_it_speaks_simplified_chinese(client, owner, done):
    client.force_login(owner)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert '<html lang="zh-hans">' in page and "提示词" in page and "图库" in page
    assert "完成" in client.get(reverse("generation_card", args=[done.pk])).content.decode()


def test_the_gallery_order_is_served_by_its_index(owner):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL picks plans from table statistics; bench/gallery.py measures it")
    rows = gallery.filtered(Generation.objects.owned_by(owner).live(), {}, user=owner)
    plan = rows.order_by("-created_at", "-id")[:41].explain()
    assert "gen_gallery" in plan and "TEMP B-TREE" not in plan


def test_it_shows_a_failure_in_plain_words(client, owner):
    gen = make(owner, prompt="[demo-fail] fox")
    client.force_login(owner)
    page = client.get(reverse("generation_card", args=[gen.pk])).content.decode()
    assert "Failed" in page and "The demo renderer was asked to fail." in page
    assert "DemoFailure" in page and 'hx-swap-oob="true">100<' in page  # refunded


def test_a_chinese_reader_gets_the_failure_in_chinese(client, owner):
    def queued(prompt):
        return services.generation_create(user=owner, prompt=prompt, width=512, height=512, provider="demo")

    timed_out = queued("slow fox")
    status.generation_fail(
        generation=timed_out,
        code="Timeout",
        message=("The provider did not answer in time. Gave up after 3 attempts."),
    )
    novel = queued("odd fox")
    status.generation_fail(generation=novel, code="SomethingNew", message="A new kind of trouble.")
    client.force_login(owner)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    card = client.get(reverse("generation_card", args=[timed_out.pk])).content.decode()
    assert "服务商未能及时响应。" in card and "<code>Timeout</code>" in card
    assert 'title="The provider did not answer in time. Gave up after 3 attempts."' in card
    detail = client.get(reverse("generation_detail", args=[timed_out.pk])).content.decode()
    assert "服务商未能及时响应。" in detail
    # A code with no translation yet: the message as it was written.
    assert (
        "A new kind of trouble." in client.get(reverse("generation_card", args=[novel.pk])).content.decode()
    )
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    card = client.get(reverse("generation_card", args=[timed_out.pk])).content.decode()
    assert "Gave up after 3 attempts." in card and "服务商" not in card


def test_infinite_scroll_gets_only_the_next_cards(client, owner, settings):
    settings.GALLERY_PAGE_SIZE = 1
    make(owner, prompt="one")
    make(owner, prompt="two")
    client.force_login(owner)
    cursor = client.get(reverse("gallery")).context["page"].next_cursor
    page = client.get(reverse("gallery"), {"cursor": cursor}, **HTMX).content.decode()
    assert "one" in page and "<html" not in page and 'hx-trigger="revealed"' not in page
