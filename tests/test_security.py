"""The outside security test's findings (issue 18): TLS settings, deeply
nested JSON, far-away dates, sign-in throttling and security headers."""

import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from generations.api import tokens
from tests.conftest import make_user
from tests.helpers import ROOT

# --- A. TLS settings ---------------------------------------------------------------


def production_block() -> dict[str, str]:
    """The variables of .env.example's production block, as an operator sets them."""
    text = (ROOT / ".env.example").read_text()
    block = text.split("# >>> production", 1)[1].split("# <<< production", 1)[0]
    pairs = (line.removeprefix("#").strip().split("=", 1) for line in block.splitlines()[1:])
    return {name: value for name, value in (p for p in pairs if len(p) == 2) if "<" not in value}


def check_deploy(tmp_path, extra: dict) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "VAR_DIR": str(tmp_path),
        "SECRET_KEY": "k3Y-" + "x7Qp9!vR2#mZ" * 5,
        **extra,
    }
    code = (
        "import django, sys; from django.conf import settings; django.setup(); "
        "from django.core.management import call_command; "
        "print('PROXY', settings.SECURE_PROXY_SSL_HEADER); "
        "call_command('check', '--deploy', '--fail-level', 'WARNING')"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env, "DJANGO_SETTINGS_MODULE": "zimage_site.settings"},
        timeout=180,
    )


def test_check_deploy_is_clean_with_the_production_block_of_env_example(tmp_path):
    block = production_block()
    assert {
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "TRUST_X_FORWARDED_PROTO",
    } <= set(block)
    done = check_deploy(tmp_path, block)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PROXY ('HTTP_X_FORWARDED_PROTO', 'https')" in done.stdout
    assert "no issues" in done.stdout + done.stderr


def test_check_deploy_names_what_is_missing_without_it(tmp_path):
    done = check_deploy(tmp_path, {"DEBUG": "0", "ALLOWED_HOSTS": "studio.example.com"})
    assert done.returncode != 0 and "PROXY None" in done.stdout
    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in done.stderr


@pytest.fixture
def behind_tls_proxy(settings):
    """What TRUST_X_FORWARDED_PROTO=1 sets (the subprocess test shows the mapping)."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXY_COUNT = 1


def test_behind_the_proxy_api_links_and_openai_urls_are_https(owner, behind_tls_proxy, settings):
    from tests.api.conftest import client_for, make_generation

    api = client_for(owner)
    make_generation(owner, run=True)
    # As a proxy forwards it: the Host header, and the scheme the client used.
    proxied = {"HTTP_HOST": "testserver", "HTTP_X_FORWARDED_PROTO": "https"}
    listed = api.get("/api/v1/generations/", **proxied).json()
    links = [link for link in listed["results"][0]["links"].values() if link]
    assert links and all(link.startswith("https://testserver/") for link in links), links
    if settings.STORAGE_BACKEND != "s3":  # S3 answers with its own presigned URL
        answer = api.post(
            "/v1/images/generations", {"prompt": "a fox", "size": "512x512"}, format="json", **proxied
        ).json()
        assert answer["data"][0]["url"].startswith("https://testserver/v1/files/")


def test_without_the_proxy_setting_the_header_is_not_believed(owner):
    from tests.api.conftest import client_for, make_generation

    make_generation(owner, run=True)
    listed = (
        client_for(owner)
        .get("/api/v1/generations/", HTTP_HOST="testserver", HTTP_X_FORWARDED_PROTO="https")
        .json()
    )
    links = [link for link in listed["results"][0]["links"].values() if link]
    assert links and all(link.startswith("http://testserver/") for link in links)


# --- B. deeply nested JSON -------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def api(owner, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + tokens.api_token_create(user=owner, name="t")[1])
    return client


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        '{"prompt": "a fox", "tags": ' + DEEP + "}",
        '{"prompt": "a fox", "tags": ' + "[" * 40 + "]" * 40 + "}",
    ],
)
def test_deep_json_to_the_rest_api_is_a_400_in_its_shape(api, body):
    response = api.post("/api/v1/generations/", body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parse_error" and "nested" in error["message"]


def test_deep_json_to_the_openai_endpoint_is_a_400_in_its_shape(api):
    response = api.post("/v1/images/generations", DEEP, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and "nested" in error["message"]


def test_ordinary_nesting_still_parses(api):
    response = api.post("/api/v1/generations/", {"prompt": "a fox", "tags": ["a", "b"]}, format="json")
    assert response.status_code == 202


def test_the_gpu_worker_answers_deep_json_with_400():
    import io
    from types import SimpleNamespace

    from generations.inference.schema import ApiError
    from generations.inference.server import Handler

    body = ("[" * 30_000 + "]" * 30_000).encode()
    request = SimpleNamespace(headers={"Content-Length": str(len(body))}, rfile=io.BytesIO(body))
    with pytest.raises(ApiError) as caught:
        Handler._read_json(request)
    assert caught.value.status == 400


# --- C. far-away dates from query strings -------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["date_to=9999-12-31", "date_from=9999-12-31", "date_from=0001-01-01&date_to=0001-01-01"]
)
def test_the_gallery_shows_a_form_error_for_a_date_out_of_range(client, owner, query):
    client.force_login(owner)
    response = client.get(f"{reverse('gallery')}?{query}")
    assert response.status_code == 200
    assert "Enter a date between 1900-01-01 and 9998-12-31." in response.content.decode()


@pytest.mark.parametrize("query", ["end=9999-12-31", "start=9999-12-31", "start=0001-01-01"])
def test_the_usage_report_shows_a_form_error_for_a_date_out_of_range(client, admin_user, query):
    client.force_login(admin_user)
    response = client.get(f"{reverse('staff_usage')}?{query}")
    assert response.status_code == 200
    assert "Enter a date between 1900-01-01 and 9998-12-31." in response.content.decode()


def test_the_usage_csv_answers_400_for_a_date_out_of_range(client, admin_user):
    client.force_login(admin_user)
    response = client.get(f"{reverse('staff_usage_csv')}?end=9999-12-31")
    assert response.status_code == 400
    assert "end: Enter a date between 1900-01-01 and 9998-12-31." in response.content.decode()
    assert client.get(f"{reverse('staff_usage_csv')}?end=2030-01-01").status_code == 200


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31"])
def test_the_api_filters_answer_400_or_200_for_far_away_times(api, value):
    for name in ("created_after", "created_before"):
        response = api.get("/api/v1/generations/", {name: value})
        assert response.status_code in (200, 400), (name, value, response.status_code)


# --- D. sign-in throttling ------------------------------------------------------------------

LOCKED = "Too many failed sign-in attempts. Please wait 15 minutes and try again."


def sign_in(client, username, password, ip="10.0.0.1", path=None, **headers):
    return client.post(
        path or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **headers
    )


def test_twelve_wrong_passwords_lock_the_account_even_for_the_right_one(client, owner):
    answers = [sign_in(client, "alice", "wrong").status_code for _ in range(12)]
    assert answers == [200] * 4 + [429] * 8  # the fifth failure locks
    response = sign_in(client, "alice", "pw-alice")
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The account is locked from another address too; another account elsewhere is not.
    assert sign_in(client, "alice", "pw-alice", ip="10.0.0.9").status_code == 429
    make_user("carol")
    assert sign_in(client, "carol", "pw-carol", ip="10.0.0.9").status_code == 302


def test_one_address_is_locked_for_every_account(client, owner, other):
    for n in range(5):
        sign_in(client, f"nobody{n}", "guess", ip="10.0.0.2")
    assert sign_in(client, "bob", "pw-bob", ip="10.0.0.2").status_code == 429
    assert sign_in(client, "bob", "pw-bob", ip="10.0.0.3").status_code == 302


def test_an_unknown_username_gets_the_same_answers(client, owner):
    answers = {}
    for username in ("alice", "nobody-at-all"):
        for _ in range(5):
            sign_in(client, username, "wrong", ip=f"10.1.0.{len(answers)}")
        response = sign_in(client, username, "wrong", ip=f"10.1.0.{len(answers)}")
        answers[username] = (response.status_code, LOCKED in response.content.decode())
    assert answers["alice"] == answers["nobody-at-all"] == (429, True)


def test_the_lockout_ends_after_its_time(client, owner):
    from axes.models import AccessAttempt

    for _ in range(5):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "pw-alice").status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.first().attempt_time - timedelta(minutes=16)
    )
    assert sign_in(client, "alice", "pw-alice").status_code == 302


def test_a_successful_sign_in_clears_the_count(client, owner):
    for _ in range(4):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "pw-alice").status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", "pw-alice").status_code == 302


def test_the_admin_sign_in_is_throttled_too(client, admin_user):
    path = reverse("admin:login")
    for _ in range(4):
        assert sign_in(client, "root", "wrong", path=path).status_code == 200
    sign_in(client, "root", "wrong", path=path)
    response = sign_in(client, "root", "pw-root", path=path)
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_client_address_comes_from_the_proxy_only_when_trusted(client, owner, other, settings):
    for n in range(5):  # a client forging a new X-Forwarded-For each time is still one address
        sign_in(client, f"x{n}", "guess", ip="10.0.0.4", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert (
        sign_in(client, "bob", "pw-bob", ip="10.0.0.4", HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429
    )
    settings.TRUSTED_PROXY_COUNT = 1  # now the proxy at 10.0.0.5 appends each client's address
    for n in range(5):  # what the client sent comes first and is ignored
        sign_in(client, f"y{n}", "guess", ip="10.0.0.5", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 198.51.100.1")
    ok = sign_in(client, "bob", "pw-bob", ip="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.1, 198.51.100.7")
    assert ok.status_code == 302
    client.logout()
    locked = sign_in(client, "bob", "pw-bob", ip="10.0.0.5", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert locked.status_code == 429


def test_api_tokens_are_not_throttled_by_failed_sign_ins(client, api, owner):
    for _ in range(12):
        sign_in(client, "alice", "wrong", ip="127.0.0.1")
    assert api.get("/api/v1/me/", REMOTE_ADDR="127.0.0.1").status_code == 200


def test_the_lockout_message_is_translated(client, owner):
    for _ in range(5):
        sign_in(client, "alice", "wrong")
    response = sign_in(client, "alice", "pw-alice", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 429 and LOCKED not in response.content.decode()


# --- E. headers -----------------------------------------------------------------------------


def csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


def test_the_dashboard_carries_a_content_security_policy(client, owner):
    client.force_login(owner)
    policy = csp(client.get(reverse("home")))
    assert policy["script-src"] == "script-src 'self'" or "'nonce-" in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == "object-src 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"


def test_no_template_has_an_inline_script_or_event_handler():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)", text), path
        assert not re.search(r"\son[a-z]+\s*=", text), path


def test_the_api_docs_come_from_the_site_under_the_policy(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200 and "script-src" in response["Content-Security-Policy"]
    page = response.content.decode()
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", page), page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    script = re.search(r'<script src="([^"]*\?[^"]*script[^"]*)"', page)[1]
    init = client.get(script.replace("&amp;", "&"))
    assert init.status_code == 200 and "SwaggerUIBundle" in init.content.decode()
    assert not re.search(r"https?://", init.content.decode())


def test_the_sign_in_page_carries_the_policy(client, db):
    response = client.get(reverse("login"))
    assert "default-src 'self'" in response["Content-Security-Policy"]
