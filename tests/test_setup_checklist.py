"""The staff setup checklist (issue 24, item 10): from the demo to real images,
and filters that offer only the providers that exist for the user."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from generations.dashboard.forms import GalleryFilterForm
from generations.models import Generation, ProviderConfig
from tests.conftest import make_user
from tests.fakes import FAKES
from tests.test_views import fetch

SETUP = "/staff/setup/"


def staff(username, *codenames, credits_amount=50):
    user = make_user(username, credits_amount=credits_amount, is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def tester(db):
    return staff("tess", "view_providerconfig", "change_providerconfig")


@pytest.fixture
def looker(db):
    return staff("vic", "view_providerconfig")


def test_staff_see_the_checklist_and_banner_while_only_the_demo_exists(client, tester):
    client.force_login(tester)
    home = client.get("/").content.decode()
    assert 'id="setup-banner"' in home and SETUP in home
    page = client.get(SETUP)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="only-demo"' in html
    for name in ("dashscope", "openai_compat", "aimlapi", "zimageturbo", "gpu_worker"):
        assert f'id="provider-{name}"' in html
    for variable in ("DASHSCOPE_API_KEY", "OPENAI_COMPAT_BASE_URL", "GPU_WORKER_URL", "ZIMAGETURBO_API_KEY"):
        assert f"<code>{variable}</code>" in html
    assert "docs/admin.md#dashscope" in html
    rows = [r for r in page.context["rows"] if r.name != "demo"]
    assert not any(r.configured for r in rows)


def test_a_configured_provider_ends_the_banner_and_its_key_is_never_shown(client, tester, dashscope_env):
    client.force_login(tester)
    assert 'id="setup-banner"' not in client.get("/").content.decode()
    page = client.get(SETUP)
    html = page.content.decode()
    assert 'id="only-demo"' not in html
    dashscope = next(r for r in page.context["rows"] if r.name == "dashscope")
    assert dashscope.configured
    assert {v.name: v.is_set for v in dashscope.variables}["DASHSCOPE_API_KEY"] is True
    assert FAKES["dashscope"].API_KEY not in html


def test_a_renamed_key_variable_is_the_one_listed(client, tester, monkeypatch):
    ProviderConfig.objects.create(name="aimlapi", api_key_env="TEAM_AIML_KEY")
    monkeypatch.setenv("TEAM_AIML_KEY", "secret-value-1")
    client.force_login(tester)
    html = client.get(SETUP).content.decode()
    assert "<code>TEAM_AIML_KEY</code>" in html and "secret-value-1" not in html


def test_non_staff_get_403_and_no_banner(client, owner):
    client.force_login(owner)
    assert 'id="setup-banner"' not in client.get("/").content.decode()
    assert client.get(SETUP).status_code == 403
    assert client.post(reverse("staff_setup_test", args=["demo"])).status_code == 403
    assert not Generation.objects.exists()


def test_view_only_staff_see_it_but_cannot_press_test(client, looker):
    client.force_login(looker)
    html = client.get(SETUP).content.decode()
    assert "Testing a provider needs the permission" in html
    assert html.count("disabled>") >= 6  # every Test button
    assert client.post(reverse("staff_setup_test", args=["demo"])).status_code == 403
    assert not Generation.objects.exists()


def test_testing_the_demo_makes_one_image_paid_like_any_other(client, tester):
    client.force_login(tester)
    response = client.post(reverse("staff_setup_test", args=["demo"]), follow=True)
    gen = Generation.objects.get()
    assert (gen.owner, gen.provider, gen.status) == (tester, "demo", "succeeded")
    assert response.context["tested"] == gen
    html = response.content.decode()
    assert reverse("generation_image", args=[gen.pk]) in html
    body = fetch(client, reverse("generation_image", args=[gen.pk]))  # local file or S3's presigned link
    assert body.startswith((b"\x89PNG", b"\xff\xd8", b"RIFF"))
    tester.credit_account.refresh_from_db()
    assert tester.credit_account.balance == 50 - gen.credits_cost


def test_testing_dashscope_shows_the_stored_image(client, tester, dashscope_env, dashscope_server):
    client.force_login(tester)
    response = client.post(reverse("staff_setup_test", args=["dashscope"]), follow=True)
    gen = Generation.objects.get()
    assert (gen.provider, gen.status) == ("dashscope", "succeeded")
    assert [r["method"] for r in dashscope_server.requests].count("POST") == 1  # one image asked for
    assert reverse("generation_image", args=[gen.pk]) in response.content.decode()
    body = fetch(client, reverse("generation_image", args=[gen.pk]))  # local file or S3's presigned link
    assert body.startswith((b"\x89PNG", b"\xff\xd8", b"RIFF"))


def test_a_provider_error_shows_its_code_and_refunds(client, tester, dashscope_env, monkeypatch):
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-wrong")  # the fake answers 401 InvalidApiKey
    client.force_login(tester)
    response = client.post(reverse("staff_setup_test", args=["dashscope"]), follow=True)
    gen = Generation.objects.get()
    assert (gen.status, gen.error_code) == ("failed", "InvalidApiKey")
    html = response.content.decode()
    assert '<code class="error-code">InvalidApiKey</code>' in html
    assert "sk-wrong" not in html
    tester.credit_account.refresh_from_db()
    assert tester.credit_account.balance == 50


def test_an_unconfigured_provider_is_refused_with_why_and_spends_nothing(client, tester):
    client.force_login(tester)
    response = client.post(reverse("staff_setup_test", args=["aimlapi"]), follow=True)
    assert "AI/ML API is unavailable: No API key: set AIMLAPI_API_KEY" in response.content.decode()
    assert not Generation.objects.exists()
    assert client.post(reverse("staff_setup_test", args=["nonesuch"])).status_code == 404


def test_the_gallery_filter_lists_only_providers_that_exist_for_the_user(owner, other, dashscope_env):
    Generation.objects.create(owner=owner, prompt="old", width=1024, height=1024, provider="zimageturbo")
    Generation.objects.create(owner=other, prompt="x", width=1024, height=1024, provider="aimlapi")
    names = [value for value, _label in GalleryFilterForm(user=owner).fields["provider"].choices]
    # configured now (dashscope, demo) or used by this user (zimageturbo); never another user's
    assert names == ["", "dashscope", "zimageturbo", "demo"]
