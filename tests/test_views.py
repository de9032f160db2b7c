import httpx
from django.conf import settings
from django.urls import reverse

from generations.billing import ledger
from generations.models import Generation


def test_it_requires_sign_in(client, done):
    for url in (
        reverse("home"),
        reverse("generation_detail", args=[done.pk]),
        reverse("generation_image", args=[done.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_owner_sees_and_downloads_the_image(client, owner, done):
    client.force_login(owner)
    page = client.get(reverse("home")).content.decode()
    assert "a fox" in page and '<span id="balance" class="balance-figure">98</span>' in page
    detail = client.get(reverse("generation_detail", args=[done.pk])).content.decode()
    assert "demo renderer, not Z-Image" in detail
    assert fetch(client, reverse("generation_image", args=[done.pk]))[:8] == b"\x89PNG\r\n\x1a\n"
    assert fetch(client, reverse("generation_thumbnail", args=[done.pk]))[8:12] == b"WEBP"


def test_an_image_stored_without_a_thumbnail_gets_one_when_first_shown(client, owner, done):
    Generation.objects.filter(pk=done.pk).update(thumbnail="")
    client.force_login(owner)
    thumb_url = reverse("generation_thumbnail", args=[done.pk])
    assert f'<img src="{thumb_url}"' in client.get(reverse("home")).content.decode()
    assert fetch(client, thumb_url)[8:12] == b"WEBP"
    assert Generation.objects.get(pk=done.pk).thumbnail


def test_download_original_saves_the_file_under_its_name(client, owner, done):
    client.force_login(owner)
    url = reverse("generation_image", args=[done.pk])
    body, headers = fetched(client, url + "?download")
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert headers["Content-Disposition"] == f'attachment; filename="{done.pk}.png"'
    assert fetched(client, url)[1]["Content-Disposition"].startswith("inline")  # shown in place


def fetch(client, url) -> bytes:
    return fetched(client, url)[0]


def fetched(client, url) -> tuple[bytes, dict]:
    """Local storage streams the file; S3 redirects to a presigned link."""
    response = client.get(url)
    if settings.STORAGE_BACKEND == "s3":
        assert response.status_code == 302 and "X-Amz-Signature" in response["Location"]
        response = httpx.get(response["Location"])
        return response.content, response.headers
    assert response.status_code == 200
    return b"".join(response.streaming_content), response.headers


def test_another_user_gets_404_everywhere(client, other, done):
    client.force_login(other)
    for name in ("generation_detail", "generation_image", "generation_thumbnail", "generation_status"):
        assert client.get(reverse(name, args=[done.pk])).status_code == 404
    assert client.post(reverse("generation_cancel", args=[done.pk])).status_code == 404
    assert "a fox" not in client.get(reverse("home")).content.decode()


def test_the_generate_form_queues_and_holds(client, owner):
    client.force_login(owner)
    response = client.post(
        reverse("home"), {"prompt": "小狐狸在雪中", "provider": "demo", "size": "1024x1024", "seed": ""}
    )
    assert response.status_code == 302
    gen = Generation.objects.get()
    assert gen.prompt == "小狐狸在雪中" and gen.status == "queued"
    assert ledger.balance(user=owner).held == 2


def test_the_generate_form_explains_a_bad_size(client, owner):
    client.force_login(owner)
    response = client.post(reverse("home"), {"prompt": "fox", "provider": "demo", "size": "4096x4096"})
    assert "16.78 MP is above this provider" in response.content.decode()
    assert not Generation.objects.exists()


def test_secrets_never_reach_the_page(client, admin_user, monkeypatch):
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-very-secret-value")
    client.force_login(admin_user)
    for url in (reverse("home"), "/admin/generations/providerconfig/"):
        assert "sk-very-secret-value" not in client.get(url).content.decode()
