"""The site's own operations surface: /metrics (multiprocess counters, the
database's gauges, who may scrape), /healthz and /readyz, and JSON log lines
carrying the request and generation ids."""

import io
import json
import logging
import os
import re
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from generations.lifecycle import pipeline, services
from generations.models import CreditAccount
from generations.runtime import metrics
from tests.helpers import ROOT, wait_finished

TOKEN = "scrape-secret-token"


@pytest.fixture
def metrics_on(settings):
    """Metrics collected and scraped with TOKEN. This process writes into the
    folder it chose at its first metric (prometheus_client keeps that file
    open), shared with earlier tests: counters are compared before and after."""
    settings.METRICS_ENABLED, settings.METRICS_TOKEN, settings.METRICS_ALLOW = True, TOKEN, []


def scrape(client, **headers) -> dict[tuple, float]:
    """Every sample of a /metrics answer: {(name, sorted labels): value}."""
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", **headers})
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(answer.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def grown(before, after, name, **labels) -> float:
    """How much a counter grew between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


# --- /metrics: who may scrape ---------------------------------------------------


def test_metrics_off_without_a_token_or_allowlist(client, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings.METRICS_ENABLED = False
    metrics.call_observed("demo", 0.5, "ok")
    assert client.get("/metrics").status_code == 404
    assert os.listdir(tmp_path) == []  # nothing collected either


def test_metrics_need_the_token(client, metrics_on, db):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 403  # not a bearer header
    assert scrape(client) is not None


def test_metrics_allowlist_by_address(client, settings, metrics_on, db):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.METRICS_ALLOW = ["127.0.0.1/32", "::1/128"]
    assert client.get("/metrics").status_code == 200


# --- /metrics: contents -----------------------------------------------------------


def test_events_and_database_gauges_in_one_scrape(client, metrics_on, owner, settings):
    before = scrape(client)
    done = services.generation_create(user=owner, prompt="a fox", width=1024, height=1024, provider="demo")
    pipeline.generation_run(generation_id=done.pk)
    services.generation_create(user=owner, prompt="a hare", width=1024, height=1024, provider="demo")
    metrics.fallback_taken("z-image-turbo", "dashscope", "aimlapi", "InternalError")
    metrics.circuit_changed("dashscope", "open")
    metrics.store_retried("dashscope")
    metrics.ledger_checked(0)

    samples = scrape(client)
    assert grown(before, samples, "zimage_provider_calls_total", provider="demo", code="ok") == 1
    assert grown(before, samples, "zimage_provider_call_seconds_count", provider="demo") == 1
    assert value(samples, "zimage_generations", status="succeeded", provider="demo") == 1
    assert value(samples, "zimage_generations", status="queued", provider="demo") == 1
    assert value(samples, "zimage_generations_queued") == 1
    assert value(samples, "zimage_generations_running") == 0
    done.refresh_from_db()
    assert (
        value(samples, "zimage_generation_credits", status="succeeded", provider="demo") == done.credits_cost
    )
    assert value(samples, "zimage_credits_held") == done.credits_cost  # the queued one's, as priced alike
    labels = dict(
        route="z-image-turbo", from_provider="dashscope", to_provider="aimlapi", reason="InternalError"
    )
    assert grown(before, samples, "zimage_fallbacks_total", **labels) == 1
    assert value(samples, "zimage_circuit_state", provider="dashscope") == 2
    assert grown(before, samples, "zimage_store_retries_total", provider="dashscope") == 1
    assert value(samples, "zimage_ledger_problems") == 0
    metrics.circuit_changed("dashscope", "closed")
    assert value(scrape(client), "zimage_circuit_state", provider="dashscope") == 0


def test_a_provider_error_is_counted_by_its_code(client, metrics_on, owner, dashscope_env):
    before = scrape(client)
    gen = services.generation_create(
        user=owner, prompt="fox [error:DataInspectionFailed]", width=1024, height=1024, provider="dashscope"
    )
    pipeline.generation_run(generation_id=gen.pk)
    after = scrape(client)
    refused = {"provider": "dashscope", "code": "DataInspectionFailed"}
    assert grown(before, after, "zimage_provider_calls_total", **refused) == 1
    assert grown(before, after, "zimage_provider_calls_total", provider="dashscope", code="ok") == 0


def test_circuit_states_are_checked(metrics_on):
    with pytest.raises(ValueError):
        metrics.circuit_changed("dashscope", "broken")


def test_check_ledger_sets_the_problems_gauge(client, metrics_on, owner):
    from django.core.management import call_command

    call_command("check_ledger")
    assert value(scrape(client), "zimage_ledger_problems") == 0
    CreditAccount.objects.filter(user=owner).update(balance=12345)  # out of step with its entries
    with pytest.raises(Exception, match="ledger problem"):
        call_command("check_ledger")
    assert value(scrape(client), "zimage_ledger_problems") >= 1


WRITER = """
import os, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "zimage_site.settings"
django.setup()
from generations.runtime import metrics
for _ in range(int(sys.argv[1])):
    metrics.call_observed("dashscope", 0.4, "ok")
    metrics.store_retried("dashscope")
metrics.call_observed("dashscope", 9, "Throttling")
print(os.getpid())
"""


def test_counters_of_several_processes_add_up_in_one_scrape(client, metrics_on, db, tmp_path, monkeypatch):
    """Two real processes (as two gunicorn workers or consumers) each write
    their counters into a folder of their own; one scrape, in a third, sums them."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "METRICS_ENABLED": "1"}
    pids = [
        subprocess.run(
            [sys.executable, "-c", WRITER, str(n)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        for n in (3, 4)
    ]
    assert pids[0] != pids[1] and len(list(tmp_path.glob("counter_*.db"))) == 2
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the scrape reads theirs alone
    samples = scrape(client)
    assert value(samples, "zimage_provider_calls_total", provider="dashscope", code="ok") == 7
    assert value(samples, "zimage_provider_calls_total", provider="dashscope", code="Throttling") == 2
    assert value(samples, "zimage_store_retries_total", provider="dashscope") == 7
    assert value(samples, "zimage_provider_call_seconds_count", provider="dashscope") == 9
    assert value(samples, "zimage_provider_call_seconds_bucket", provider="dashscope", le="0.5") == 7


# --- /healthz, /readyz ------------------------------------------------------------------


def test_healthz_answers_without_sign_in_host_check_or_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["studio.example.com"]
    answer = client.get("/healthz", HTTP_HOST="10.0.0.7")  # a balancer asks by address
    assert (answer.status_code, answer.content) == (200, b"ok\n")
    assert client.get("/", HTTP_HOST="10.0.0.7").status_code == 400  # the rest of the site still checks


@pytest.mark.django_db
def test_readyz_ready_on_the_default_parts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.content
    assert answer.content.decode().splitlines() == ["ready", "database: ok", "queue: ok", "storage: ok"]


@pytest.mark.slow
@pytest.mark.django_db
def test_readyz_names_storage_while_the_s3_server_is_stopped(client, settings, seaweed):
    settings.STORAGES = {**settings.STORAGES, "default": seaweed.storages_setting()}
    assert client.get("/readyz").status_code == 200
    seaweed.stop()
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        text = answer.content.decode()
        assert text.startswith("not ready: storage\n") and "database: ok" in text, text
    finally:
        seaweed.start()
    assert client.get("/readyz").status_code == 200


def test_readyz_names_the_database_when_it_cannot_be_reached(tmp_path):
    """A site whose DATABASE_URL points at a closed port is not ready, and says why."""
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'zimage_site.settings'; django.setup(); "
        "from django.test import Client; a = Client().get('/readyz'); "
        "print(a.status_code); print(a.content.decode())"
    )
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none", "VAR_DIR": str(tmp_path)}
    env.pop("REDIS_URL", None)  # the queue on its SQLite file: only the database is missing
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.startswith("503\nnot ready: database\n"), out.stdout + out.stderr
    assert "nobody" not in out.stdout  # the error's class, not its text (which may carry the URL)


# --- request ids and JSON logs --------------------------------------------------------


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1234"})["X-Request-ID"] == "lb-1234"
    made = client.get("/healthz", headers={"X-Request-ID": "bad\nid"})["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)


def test_json_lines_of_a_web_create_carry_both_ids(client, owner):
    """The handler as LOG_FORMAT=json sets it up, on the lines of one request."""
    from generations.runtime.logcontext import ContextFilter, JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("generations")
    logger.addHandler(handler)
    client.force_login(owner)
    try:
        answer = client.post(
            "/api/v1/generations/",
            {"prompt": "a fox", "width": 1024, "height": 1024, "provider": "demo"},
            content_type="application/json",
            headers={"X-Request-ID": "req-77"},
        )
    finally:
        logger.removeHandler(handler)
    assert answer.status_code == 202 and answer["X-Request-ID"] == "req-77"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    created = [line for line in lines if "created on" in line["message"]]
    assert created and all(line["request_id"] == "req-77" for line in lines)
    assert {"time", "level", "logger", "message"} <= set(created[0])
    assert created[0]["generation_id"] == str(answer.json()["id"])


@pytest.mark.slow
def test_a_consumers_json_lines_carry_the_generation_id(owner, consumer, dashscope_env):
    """LOG_FORMAT=json: every line the consumer writes is one JSON object, and
    those about a generation (the task, its retry, the store) name it."""
    worker = consumer(env={**dashscope_env, "LOG_FORMAT": "json", "PROVIDER_RETRY_BASE": "0.2"})
    gen = services.generation_create(
        user=owner, prompt="fox [error:Throttling] [times:1]", width=1024, height=1024, provider="dashscope"
    )
    wait_finished(gen)
    assert gen.status == "succeeded", gen.error_message
    lines = [json.loads(line) for line in worker.output().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    about = [line for line in lines if str(gen.pk) in line["message"]]
    assert about and all(line.get("generation_id") == str(gen.pk) for line in about)
    assert any("retry" in line["message"] for line in about)  # the provider path's own line


# --- the docs' dashboard and alert rules ---------------------------------------------------

METRIC_NAME = re.compile(r"\bzimage_[a-z_]+\b")


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    assert dashboard["title"] and dashboard["uid"] and dashboard["schemaVersion"] >= 30
    exprs = []
    for panel in dashboard["panels"]:
        assert {"id", "type", "title", "gridPos", "targets", "datasource"} <= set(panel), panel.get("title")
        exprs += [target["expr"] for target in panel["targets"]]
    return exprs


def alert_exprs() -> list[str]:
    import yaml

    rules = yaml.safe_load((ROOT / "docs" / "prometheus-alerts.yml").read_text())
    exprs = []
    for group in rules["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"} and group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"} and rule["alert"]
            exprs.append(rule["expr"])
    return exprs


def test_dashboard_and_alerts_use_only_exported_metrics(client, metrics_on, owner):
    """Every metric name in docs/grafana-dashboard.json and
    docs/prometheus-alerts.yml is one a scrape of this site answers."""
    from generations.runtime.metrics_export import EXPORTED

    services.generation_create(user=owner, prompt="a fox", width=1024, height=1024, provider="demo")
    metrics.call_observed("demo", 1, "ok")
    metrics.fallback_taken("z-image-turbo", "dashscope", "demo", "circuit_open")
    metrics.circuit_changed("dashscope", "closed")
    metrics.store_retried("demo")
    metrics.ledger_checked(0)
    scraped = {name for name, _ in scrape(client)}
    assert set(EXPORTED) <= scraped  # the list the docs are checked against is true
    dashboard, alerts = dashboard_exprs(), alert_exprs()
    assert len(alerts) >= 4
    for expr in dashboard + alerts:
        assert expr.count("(") == expr.count(")"), expr
        used = set(METRIC_NAME.findall(expr))
        assert used and used <= set(EXPORTED), f"{expr}: {used - set(EXPORTED)} not exported"
    # Each of the alerts is there.
    joined = "\n".join(alerts)
    for name in ("zimage_circuit_state", "zimage_generations_queued", "zimage_store_retries_total"):
        assert name in joined
    assert "zimage_ledger_problems" in joined and "zimage_provider_calls_total" in joined


def test_gunicorn_master_empties_the_metrics_folder_for_its_workers(tmp_path, monkeypatch):
    """A restart starts counting afresh: files of the previous run's
    processes would be summed in forever. The workers inherit the folder."""
    import runpy

    stale = tmp_path / "counter_4242.db"
    stale.write_bytes(b"old counts")
    keep = tmp_path / "README"
    keep.write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(ROOT / "zimage_site" / "gunicorn_conf.py"))
    conf["on_starting"](None)
    assert not stale.exists() and keep.exists()
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    conf["on_starting"](None)
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "var" / "metrics")
    assert (tmp_path / "var" / "metrics").is_dir()
