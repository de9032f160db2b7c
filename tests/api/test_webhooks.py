"""Webhooks: signed, retried with backoff, recorded; verified by a real receiver."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from huey.contrib.djhuey import HUEY

from generations.lifecycle import pipeline, status
from generations.models import WebhookDelivery
from generations.webhooks import deliveries, targets
from tests.api.conftest import client_for, make_generation
from tests.helpers import wait_for


class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTs and answers the given statuses in turn."""

    def __init__(self, statuses=(200,)):
        self.statuses, self.received = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.headers, body))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def start(statuses=(200,)):
        made.append(Receiver(statuses))
        return made[-1]

    yield start
    for r in made:
        r.close()


def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does (the snippet in docs/api.md)."""
    timestamp = headers["X-ZImage-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    given = headers["X-ZImage-Signature"].removeprefix("v1=")
    return hmac.compare_digest(expected.hexdigest(), given) and abs(time.time() - int(timestamp)) < tolerance


@pytest.mark.slow
def test_a_real_consumer_delivers_a_signed_webhook_after_a_failure(owner, consumer, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    hook = receiver(statuses=(500, 200))
    consumer(env={"WEBHOOK_ALLOW_PRIVATE": "1", "WEBHOOK_RETRY_BASE": "0.2"})
    api = client_for(owner)
    secret = api.get("/api/v1/me/webhook-secret/").json()["secret"]
    created = api.post(
        "/api/v1/generations/",
        {"prompt": "a fox", "size": "512x512", "provider": "demo", "webhook_url": hook.url},
        format="json",
    ).json()
    wait_for(lambda: len(hook.received) == 2, timeout=40, what="two webhook attempts")
    headers, body = hook.received[-1]
    assert verify(secret, headers, body)
    assert not verify("whsec_wrong", headers, body)
    payload = json.loads(body)
    assert payload["id"] == created["id"] and payload["status"] == "succeeded"
    assert headers["X-ZImage-Event"] == "generation.succeeded"
    assert payload == api.get(f"/api/v1/generations/{created['id']}/").json() | {
        "links": payload["links"]
    }  # same JSON as GET; links are built from SITE_URL
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(delivered_at__isnull=False).first(),
        timeout=10,
        what="the delivery to be recorded",
    )
    assert (delivery.attempts, delivery.last_status, delivery.url) == (2, 200, hook.url)


def test_it_gives_up_after_the_last_attempt(owner, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE, settings.WEBHOOK_MAX_ATTEMPTS = True, 3
    hook = receiver(statuses=(503,))
    generation = make_generation(owner, webhook_url=hook.url)
    delivery = WebhookDelivery.objects.create(generation=generation, url=hook.url)
    delays = [deliveries.webhook_attempt(delivery_id=delivery.pk) for _ in range(4)]
    assert delays[0] < delays[1] * 2 and delays[2:] == [None, None]  # backoff, then done
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status) == (3, 503)
    assert delivery.gave_up_at and not delivery.delivered_at and len(hook.received) == 3


def test_it_refuses_to_deliver_to_private_addresses(owner, receiver, settings):
    hook = receiver()
    generation = make_generation(owner)
    delivery = WebhookDelivery.objects.create(generation=generation, url=hook.url)
    assert deliveries.webhook_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.gave_up_at and "private" in delivery.last_error and hook.received == []


def test_a_webhook_host_that_rebinds_to_a_private_address_is_never_reached(
    owner, receiver, monkeypatch, rebinding_dns
):
    monkeypatch.setattr(targets, "not_global", lambda a: a == "127.0.0.1")
    hook = receiver()
    url = hook.url.replace("127.0.0.1", "rebind.test")
    delivery = WebhookDelivery.objects.create(generation=make_generation(owner), url=url)
    deliveries.webhook_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert hook.received == [] and rebinding_dns == ["127.0.0.2"]  # one lookup, one address
    assert delivery.last_error.startswith("ConnectError") and not delivery.gave_up_at


def test_each_end_schedules_one_delivery(owner, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    HUEY.flush()
    url = "http://127.0.0.1:9/hook"
    with django_capture_on_commit_callbacks(execute=True):
        canceled = make_generation(owner, webhook_url=url)
        status.generation_cancel(generation=canceled)
        failed = make_generation(owner, prompt="[demo-fail]", webhook_url=url)
        pipeline.generation_run(generation_id=failed.pk)
        succeeded = make_generation(owner, run=True, webhook_url=url)
        make_generation(owner, run=True)  # no webhook_url: nothing
        status.generation_cancel(generation=canceled)  # ends once only
    ids = set(WebhookDelivery.objects.values_list("generation", flat=True))
    assert ids == {canceled.pk, failed.pk, succeeded.pk}
    assert WebhookDelivery.objects.count() == 3
    HUEY.flush()


def test_no_delivery_when_webhooks_are_disabled(owner, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_ENABLED, settings.WEBHOOK_ALLOW_PRIVATE = False, True
    with django_capture_on_commit_callbacks(execute=True):
        status.generation_cancel(generation=make_generation(owner, webhook_url="http://127.0.0.1:9/hook"))
    assert not WebhookDelivery.objects.exists()


def test_signature_is_hmac_sha256_over_timestamp_and_body():
    body = b'{"id":"x"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert deliveries.signature("s3cret", 1700000000, body) == f"v1={expected}"


@pytest.mark.slow
def test_a_cancel_while_the_broker_is_down_answers_and_its_webhook_is_delivered_later(
    owner, consumer, receiver, settings, monkeypatch
):
    """The cancel commits and answers; the delivery waits in the database and
    recovery sends it once a consumer (and so the broker) is back."""
    from huey.contrib.djhuey import HUEY

    from generations.lifecycle import recovery
    from tests.test_lost_tasks import BrokenStorage

    settings.WEBHOOK_ALLOW_PRIVATE, settings.QUEUED_RESCUE_AFTER = True, 0
    hook = receiver()
    api = client_for(owner)
    created = api.post(
        "/api/v1/generations/",
        {"prompt": "a fox", "size": "512x512", "provider": "demo", "webhook_url": hook.url},
        format="json",
    ).json()
    monkeypatch.setattr(HUEY, "storage", BrokenStorage())
    assert api.post(f"/api/v1/generations/{created['id']}/cancel/").status_code == 200
    monkeypatch.undo()
    HUEY.flush()  # the run message too: nothing left to wake anyone
    assert recovery.generations_recover()["webhooks"] == 1
    consumer(env={"WEBHOOK_ALLOW_PRIVATE": "1"})
    wait_for(lambda: len(hook.received) == 1, timeout=30, what="the webhook, once")
    assert json.loads(hook.received[0][1])["status"] == "canceled"
