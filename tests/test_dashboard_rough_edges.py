"""The rough edges of a first week: emptying the trash asks first, a bad
gallery filter is an inline error, and live lists are not live regions."""

from django.core.files.storage import default_storage
from django.urls import reverse

from generations.lifecycle import library
from generations.models import Generation


def test_emptying_the_trash_asks_first_and_says_how_many(client, owner, done):
    library.generation_trash(generation=done)
    client.force_login(owner)
    trash = client.get(reverse("trash")).content.decode()
    assert f'href="{reverse("trash_empty")}"' in trash  # a link to the question, not a delete button
    question = client.get(reverse("trash_empty")).content.decode()
    assert "Delete 1 image in the trash for good" in question and 'value="yes"' in question
    client.post(reverse("trash_empty"))  # no confirmation sent: asked again, nothing deleted
    assert default_storage.exists(done.image.name)
    assert Generation.objects.get(pk=done.pk).purged_at is None
    client.post(reverse("trash_empty"), {"confirm": "yes"})
    assert Generation.objects.get(pk=done.pk).purged_at is not None


def test_a_bad_gallery_filter_is_an_inline_error_and_the_rest_still_apply(client, owner, done):
    client.force_login(owner)
    response = client.get(reverse("gallery"), {"size": "huge", "q": "nothing like it"})
    page = response.content.decode()
    assert '<p class="field-error" id="id_size_error">Size must look like 1024x1024' in page
    assert 'aria-describedby="id_size_error"' in page and "errorlist" not in page
    assert response.context["page"].items == []  # the prompt search still applied
    assert response.context["form"]["q"].value() == "nothing like it"


def test_polling_cards_are_not_live_regions_one_announcer_is(client, owner, done):
    client.force_login(owner)
    page = client.get(reverse("home")).content.decode()
    recent = page[page.index('id="recent"') : page.index("</section>", page.index('id="recent"'))]
    assert "aria-live" not in recent and 'role="status"' not in recent
    assert '<div id="announce" class="sr-only" aria-live="polite"></div>' in page


def ledger_rows(client) -> list[str]:
    """The ledger table's rows as text, one string each."""
    import re

    page = client.get(reverse("credits")).content.decode()
    table = page[page.index("<tbody>") : page.index("</tbody>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def test_the_ledger_shows_one_line_per_image_with_its_entries_on_demand(client, owner, done):
    from generations.lifecycle import services, status

    failed = services.generation_create(user=owner, prompt="broken", width=1024, height=1024, provider="demo")
    status.generation_fail(generation=failed, code="InvalidParameter", message="no")
    waiting = services.generation_create(user=owner, prompt="later", width=1024, height=1024, provider="demo")
    client.force_login(owner)
    rows = ledger_rows(client)
    assert len(rows) == 4, rows  # three images and the grant: no "Capture +0" lines of their own
    newest, refunded, spent, grant = rows
    assert "Image, in progress -2 later" in newest and "2 credits held" in newest
    assert "Image, refunded +0 broken" in refunded and "Release +2" in refunded
    assert "Image -2 a fox" in spent and "spent 2 credits" in spent
    assert "Hold -2" in spent and "Capture +0" in spent  # the detail, inside <details>
    assert "Grant +100" in grant and "test funds" in grant
    assert waiting.credits_cost == 2
