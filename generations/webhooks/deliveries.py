"""Webhooks: when a generation ends, POST its final state to the URL given at
create time, signed with the owner's secret. At least once: a Huey task tries
with exponential backoff until a 2xx or WEBHOOK_MAX_ATTEMPTS.

Signature: `X-ZImage-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`
with `X-ZImage-Timestamp` (Unix seconds), so a receiver can refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from datetime import timedelta

import httpx
from django.conf import settings
from django.utils import timezone

from generations import tasks
from generations.images.fetch import BlockedURL, checked_client
from generations.models import Generation, WebhookDelivery, WebhookSecret
from generations.runtime.dbconn import connection_release_idle
from generations.webhooks import targets

log = logging.getLogger(__name__)


def webhook_secret_get(*, user) -> WebhookSecret:
    secret, _ = WebhookSecret.objects.get_or_create(user=user, defaults={"secret": _new_secret()})
    return secret


def webhook_secret_rotate(*, user) -> WebhookSecret:
    secret, _ = WebhookSecret.objects.update_or_create(
        user=user, defaults={"secret": _new_secret(), "created_at": timezone.now()}
    )
    return secret


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def webhook_schedule(*, generation_id) -> None:
    if not settings.WEBHOOKS_ENABLED:
        return
    generation = Generation.objects.get(pk=generation_id)
    delivery = WebhookDelivery.objects.create(generation=generation, url=generation.webhook_url)
    _send(delivery.pk)


def _send(delivery_id: int) -> None:
    """Queue a delivery; with the broker unreachable the row waits for
    `webhook_rescue`, and whatever ended the generation is not undone."""
    try:
        tasks.deliver_webhook(delivery_id)
    except Exception as exc:  # redis.ConnectionError, sqlite3.OperationalError, ...
        log.warning("queue unreachable (%s); webhook delivery %s waits for recovery", exc, delivery_id)


def webhook_rescue() -> int:
    """Deliveries still to make, older than QUEUED_RESCUE_AFTER, with no task
    waiting for them (lost with a broker outage or a killed worker): queued
    again. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.QUEUED_RESCUE_AFTER)
    pending = WebhookDelivery.objects.filter(
        delivered_at=None, gave_up_at=None, created_at__lt=cutoff
    ).values_list("pk", flat=True)[:1000]
    if not pending:
        return 0
    waiting = tasks.waiting_args("deliver_webhook")
    lost = [pk for pk in pending if str(pk) not in waiting]
    for pk in lost:
        _send(pk)
    return len(lost)


def webhook_payload(generation: Generation) -> dict:
    """The same JSON as `GET /api/v1/generations/{id}/`."""
    from generations.api.serializers import GenerationSerializer

    return GenerationSerializer(generation).data


def webhook_attempt(*, delivery_id: int) -> float | None:
    """Try one delivery; the delay before the next try, or None when done."""
    delivery = WebhookDelivery.objects.select_related("generation__owner").get(pk=delivery_id)
    if delivery.delivered_at or delivery.gave_up_at:
        return None
    delivery.attempts += 1
    status, error = _post(delivery)
    delivery.last_status, delivery.last_error = status, error[:300]
    now = timezone.now()
    if status is not None and 200 <= status < 300:
        delivery.delivered_at = now
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS or error.startswith("Refused"):
        delivery.gave_up_at = now
    delivery.save(update_fields=["attempts", "last_status", "last_error", "delivered_at", "gave_up_at"])
    if delivery.delivered_at or delivery.gave_up_at:
        return None
    base = settings.WEBHOOK_RETRY_BASE * 2 ** (delivery.attempts - 1)
    return random.uniform(base / 2, base)


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """(HTTP status or None, error text) of one POST."""
    try:
        body = json.dumps(webhook_payload(delivery.generation), separators=(",", ":")).encode()
        timestamp = int(time.time())
        secret = webhook_secret_get(user=delivery.generation.owner).secret
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "z-image-studio-webhook/1",
            "X-ZImage-Timestamp": str(timestamp),
            "X-ZImage-Delivery": str(delivery.pk),
            "X-ZImage-Event": f"generation.{delivery.generation.status}",
            "X-ZImage-Signature": signature(secret, timestamp, body),
        }
        connection_release_idle()  # the receiver may take WEBHOOK_TIMEOUT to answer
        # Global addresses only, resolved once and checked where the connection
        # is made (fetch.CheckedBackend), unless WEBHOOK_ALLOW_PRIVATE.
        with checked_client(
            timeout=settings.WEBHOOK_TIMEOUT,
            blocked=targets.not_global,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
        ) as client:
            response = client.post(delivery.url, content=body, headers=headers)
    except BlockedURL:
        return None, "Refused: the webhook host resolves to a private address."
    except (httpx.HTTPError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return response.status_code, "" if response.is_success else f"HTTP {response.status_code}"
