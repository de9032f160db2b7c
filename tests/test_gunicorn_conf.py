"""The web role's gunicorn (zimage_site/gunicorn_conf.py): every shipped way of
running it uses the config, and a request longer than gunicorn's worker
timeout is answered, not killed."""

import json
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from django.conf import settings

from generations.api.tokens import api_token_create
from tests.helpers import ROOT, database_url, port_open, wait_for

COMMAND = "gunicorn -c python:zimage_site.gunicorn_conf zimage_site.wsgi"
CONF = ROOT / "zimage_site" / "gunicorn_conf.py"


def conf(monkeypatch, **env) -> dict:
    for name in (
        "PROVIDER_TIMEOUT",
        "OPENAI_WAIT_TIMEOUT",
        "PORT",
        "WEB_BIND",
        "WEB_TIMEOUT",
        "WEB_THREADS",
        "WEB_CONCURRENCY",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_defaults_outlast_the_sites_own_timeouts(monkeypatch):
    values = conf(monkeypatch)
    assert values["worker_class"] == "gthread" and values["bind"] == "0.0.0.0:8000"
    assert (values["workers"], values["threads"], values["accesslog"]) == (2, 16, "-")
    assert values["timeout"] > max(settings.PROVIDER_TIMEOUT, settings.OPENAI_WAIT_TIMEOUT)
    assert values["graceful_timeout"] > settings.OPENAI_WAIT_TIMEOUT


def test_it_reads_the_same_variables_as_the_settings(monkeypatch):
    values = conf(
        monkeypatch,
        PROVIDER_TIMEOUT="300",
        OPENAI_WAIT_TIMEOUT="200",
        PORT="9000",
        WEB_THREADS="32",
        WEB_CONCURRENCY="3",
    )
    assert (values["timeout"], values["bind"], values["threads"], values["workers"]) == (
        360,
        "0.0.0.0:9000",
        32,
        3,
    )
    values = conf(monkeypatch, WEB_TIMEOUT="5", WEB_BIND="127.0.0.1:1234", PORT="9000")
    assert (values["timeout"], values["bind"]) == (5, "127.0.0.1:1234")


def test_dockerfile_compose_and_readme_run_the_config():
    cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M)
    assert json.loads(cmd[1]) == COMMAND.split()
    for name in ("docker-compose.yml", "README.md"):
        commands = re.findall(r"gunicorn (?:-|zimage)[^\"`\n]*", (ROOT / name).read_text())
        assert commands and all(c.strip() == COMMAND for c in commands), (name, commands)


SLOW = 4  # seconds the provider takes: twice the forced worker timeout


def gunicorn(args: list[str], env: dict) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bind = f"127.0.0.1:{port}"
    env = {
        **os.environ,
        **env,
        "DATABASE_URL": database_url(),
        "WEB_BIND": bind,
        "API_THROTTLE_RATE": "",
        "DEFAULT_PROVIDER": "openai_compat",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", *(a.format(bind=bind) for a in args)],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: port_open(port), timeout=30, what=f"gunicorn on {port}")
    return proc, f"http://127.0.0.1:{port}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, answered",
    [
        (COMMAND.split(), True),
        # what the Dockerfile ran before: sync workers, whose timeout kills the request
        (["gunicorn", "zimage_site.wsgi", "--bind", "{bind}", "--workers", "1", "--timeout", "2"], False),
    ],
    ids=["shipped-config", "sync-workers"],
)
def test_a_request_longer_than_the_worker_timeout_is_answered(
    args, answered, owner, fake_env, transactional_db
):
    _, token = api_token_create(user=owner, name="slow")
    proc, url = gunicorn(
        args, {**fake_env("openai_compat"), "WEB_TIMEOUT": "2", "WEB_CONCURRENCY": "1", "WEB_THREADS": "4"}
    )
    started = time.monotonic()
    try:
        response = httpx.post(
            f"{url}/v1/images/generations",
            timeout=30,
            json={
                "model": "z-image-turbo",
                "prompt": f"a slow fox [slow:{SLOW}]",
                "size": "512x512",
                "response_format": "b64_json",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        status = response.status_code
    except httpx.TransportError:
        status = None
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    if answered:
        assert status == 200 and time.monotonic() - started >= SLOW
        assert response.json()["data"][0]["b64_json"]
    else:  # cut by the worker timeout (when exactly depends on the machine's load)
        assert status != 200
