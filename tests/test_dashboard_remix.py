"""Remix, a saved prompt's "Use" and a teammate's shared image open the
Generate form filled with every setting; nothing is spent until Generate."""

import pytest
from django.urls import reverse

from generations.billing import ledger
from generations.lifecycle import library, pipeline, services
from generations.models import Generation, Prompt
from tests.test_dashboard import team_up


@pytest.fixture
def styled(owner):
    """A finished image with settings that differ from every default."""
    gen = services.generation_create(
        user=owner,
        prompt="a fox at dusk",
        width=1280,
        height=720,
        provider="demo",
        seed=42,
        prompt_extend=True,
    )
    pipeline.generation_run(generation_id=gen.pk)
    gen.refresh_from_db()
    return gen


def form_values(response) -> dict:
    form = response.context["form"]
    names = ("prompt", "provider", "size", "width", "height", "seed_mode", "seed", "prompt_extend")
    return {name: form[name].value() for name in names}


def test_remix_with_the_same_seed_fills_every_setting_and_spends_nothing(client, owner, styled):
    client.force_login(owner)
    before = ledger.balance(user=owner).available
    response = client.get(reverse("generation_remix", args=[styled.pk]) + "?seed=same", follow=True)
    assert form_values(response) == {
        "prompt": "a fox at dusk",
        "provider": "demo",
        "size": "1280x720",
        "width": 1280,
        "height": 720,
        "seed_mode": "fixed",
        "seed": 42,
        "prompt_extend": True,
    }
    page = response.content.decode()
    assert "a fox at dusk</textarea>" in page and 'value="1280x720" checked' in page
    assert 'name="prompt_extend" id="id_prompt_extend" checked' in page
    assert Generation.objects.count() == 1 and ledger.balance(user=owner).available == before


def test_remix_with_a_new_seed_leaves_the_seed_random(client, owner, styled):
    client.force_login(owner)
    response = client.get(reverse("home"), {"remix": styled.pk, "seed": "new"})
    values = form_values(response)
    assert values["seed_mode"] == "random" and values["seed"] is None
    assert values["prompt"] == "a fox at dusk" and values["size"] == "1280x720"


def test_a_size_without_a_preset_is_filled_in_as_a_custom_size(client, owner):
    gen = services.generation_create(user=owner, prompt="odd", width=1000, height=600, provider="demo")
    client.force_login(owner)
    values = form_values(client.get(reverse("home"), {"remix": gen.pk}))
    assert (values["size"], values["width"], values["height"]) == ("custom", 1000, 600)


def test_a_teammates_shared_image_is_remixed_as_the_viewers_own(client, owner, other, styled):
    team_up(owner, other)
    library.share_with_team(item=styled, shared=True)
    client.force_login(other)
    page = client.get(reverse("generation_detail", args=[styled.pk])).content.decode()
    assert "Remix (same seed)" in page
    response = client.get(reverse("generation_remix", args=[styled.pk]), follow=True)
    assert form_values(response)["prompt"] == "a fox at dusk"
    form = {"prompt": "a fox at dusk, in rain", "provider": "demo", "size": "1280x720", "seed_mode": "fixed"}
    client.post(reverse("home"), {**form, "seed": "42", "prompt_extend": "on"})
    mine = Generation.objects.get(prompt="a fox at dusk, in rain")
    assert mine.owner == other and mine.seed == 42
    assert ledger.balance(user=other).available == 100 - mine.credits_cost
    assert ledger.balance(user=owner).available == 100 - styled.credits_cost


def test_nobody_else_can_remix_or_prefill_from_an_unshared_image(client, other, styled):
    client.force_login(other)
    assert client.get(reverse("generation_remix", args=[styled.pk])).status_code == 404
    values = form_values(client.get(reverse("home"), {"remix": styled.pk}))
    assert values["prompt"] is None and values["size"] == "1024x1024"
    assert client.get(reverse("home"), {"remix": "not-a-uuid"}).status_code == 200


def test_a_prompt_saved_from_an_image_keeps_its_size_and_seed_for_use(client, owner, styled):
    client.force_login(owner)
    client.post(reverse("generation_save_prompt", args=[styled.pk]))
    saved = Prompt.objects.get()
    assert (saved.width, saved.height, saved.seed, saved.provider) == (1280, 720, 42, "demo")
    assert "1280×720" in client.get(reverse("prompts")).content.decode()
    values = form_values(client.get(reverse("home"), {"prompt": saved.pk}))
    assert values["size"] == "1280x720" and values["seed_mode"] == "fixed" and values["seed"] == 42
    assert values["prompt_extend"] is True and values["prompt"] == "a fox at dusk"
