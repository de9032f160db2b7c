"""Me, the ledger, saved prompts, the webhook secret, providers and quotes."""

from datetime import UTC, datetime

from django.urls import reverse
from django.utils import timezone

from generations.billing import ledger
from generations.models import CreditAccount, Generation, Prompt, WebhookSecret
from tests.api.conftest import make_generation

NO_LIMITS = {
    "max_concurrent": None,
    "max_per_minute": None,
    "period_limit": None,
    "allowed_providers": [],
    "frozen": False,
}


def test_me_shows_balance_held_and_no_allowance_or_limits_by_default(api, owner):
    make_generation(owner)
    assert api.get("/api/v1/me/").json() == {
        "username": "alice",
        "email": "",
        "balance": 98,
        "held": 2,
        "sources": [{"account": "own", "team": None, "balance": 98, "held": 2, "usable": True}],
        "allowance": None,
        "allowance_resets_at": None,
        "limits": NO_LIMITS,
    }


def next_month_start() -> datetime:
    now = timezone.now()
    return datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)


def test_me_shows_the_allowance_its_next_reset_and_the_account_limits(api, owner):
    CreditAccount.objects.filter(user=owner).update(
        monthly_allowance=500,
        max_concurrent=3,
        max_per_minute=10,
        period_limit=2000,
        allowed_providers=["demo"],
        frozen=True,
    )
    me = api.get("/api/v1/me/").json()
    assert me["allowance"] == 500
    assert me["allowance_resets_at"] == next_month_start().isoformat().replace("+00:00", "Z")
    assert me["limits"] == {
        "max_concurrent": 3,
        "max_per_minute": 10,
        "period_limit": 2000,
        "allowed_providers": ["demo"],
        "frozen": True,
    }


def test_the_credits_page_shows_the_allowance_and_next_reset_the_api_shows(client, owner):
    client.force_login(owner)
    assert "<dd>—</dd>" in client.get(reverse("credits")).content.decode()
    CreditAccount.objects.filter(user=owner).update(monthly_allowance=500)
    page = client.get(reverse("credits")).content.decode()
    assert "<dd>500</dd>" in page and f"<dd>{next_month_start():%Y-%m-%d}</dd>" in page


def test_credit_entries_are_only_ones_own(api, owner, other):
    make_generation(owner)
    ledger.grant(user=other, amount=5, note="theirs")
    entries = api.get("/api/v1/credits/entries/").json()["results"]
    assert [(e["kind"], e["amount"]) for e in entries] == [("hold", -2), ("grant", 100)]


def test_saved_prompts_crud_is_owner_scoped(api, other_api, owner):
    created = api.post("/api/v1/prompts/", {"title": "fox", "text": "a fox"}, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    assert (
        api.patch(f"/api/v1/prompts/{pk}/", {"text": "a red fox"}, format="json").json()["text"]
        == "a red fox"
    )
    assert other_api.get("/api/v1/prompts/").json()["results"] == []
    assert api.get("/api/v1/prompts/").json()["results"][0]["text"] == "a red fox"
    assert api.delete(f"/api/v1/prompts/{pk}/").status_code == 204
    assert not Prompt.objects.exists()
    empty = api.post("/api/v1/prompts/", {"text": ""}, format="json")
    assert empty.status_code == 400 and "text" in empty.json()["error"]["fields"]


def test_the_webhook_secret_is_made_on_demand_and_rotates(api, owner):
    first = api.get("/api/v1/me/webhook-secret/").json()["secret"]
    assert first.startswith("whsec_") and api.get("/api/v1/me/webhook-secret/").json()["secret"] == first
    rotated = api.post("/api/v1/me/webhook-secret/").json()["secret"]
    assert rotated != first and WebhookSecret.objects.get(user=owner).secret == rotated


def test_providers_show_capabilities_presets_prices_and_why_not(api):
    providers = {p["name"]: p for p in api.get("/api/v1/providers/").json()}
    demo, dashscope = providers["demo"], providers["dashscope"]
    assert demo["available"] and demo["default"] and demo["unavailable_reason"] == ""
    assert demo["capabilities"]["seed_range"] == [0, 2**31 - 1]
    assert {"size": "1024x1024", "width": 1024, "height": 1024, "price": 2, "price_prompt_extend": 3} in demo[
        "presets"
    ]
    assert not dashscope["available"] and "DASHSCOPE_API_KEY" in dashscope["unavailable_reason"]
    assert dashscope["capabilities"]["max_prompt_chars"] == 800


def test_quote_prices_and_validates_without_creating(api, owner):
    body = {"prompt": "a fox", "size": "1024x1536", "prompt_extend": True, "provider": "demo"}
    assert api.post("/api/v1/quote/", body, format="json").json() == {
        "provider": "demo",
        "size": "1024x1536",
        "prompt_extend": True,
        "credits": 5,
        "balance": 100,
        "affordable": True,
        "problem": "",
    }
    bad = api.post("/api/v1/quote/", {**body, "size": "4096x4096"}, format="json")
    assert bad.status_code == 400 and "size" in bad.json()["error"]["fields"]
    assert not Generation.objects.exists()
    assert ledger.balance(user=owner) == ledger.Balance(available=100, held=0)


def test_it_throttles_per_user_with_retry_after(api, other_api, settings):
    settings.API_THROTTLE_RATE = "3/min"
    assert [api.get("/api/v1/me/").status_code for _ in range(3)] == [200] * 3
    response = api.get("/api/v1/me/")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"
    assert other_api.get("/api/v1/me/").status_code == 200  # counted per user


def test_a_prompt_saved_from_an_image_shows_its_settings(api, owner):
    from generations.lifecycle import library, services

    gen = services.generation_create(
        user=owner, prompt="a fox", width=1280, height=720, provider="demo", seed=7
    )
    library.prompt_save_from(user=owner, generation=gen)
    row = api.get("/api/v1/prompts/").json()["results"][0]
    assert {k: row[k] for k in ("provider", "width", "height", "seed", "prompt_extend")} == {
        "provider": "demo",
        "width": 1280,
        "height": 720,
        "seed": 7,
        "prompt_extend": False,
    }
    changed = api.patch(f"/api/v1/prompts/{row['id']}/", {"width": 5}, format="json").json()
    assert changed["width"] == 1280  # read-only
