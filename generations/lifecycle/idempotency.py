"""Idempotent creates: a retried request with the same `Idempotency-Key` gets
the generation its first try made, instead of a second one and a second hold.

The key lives on the generation (unique per owner, so two racing requests
cannot both insert), beside a fingerprint of the request's parameters that
tells a retry from a different request reusing the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from generations.models import Batch, Generation, Prompt


class IdempotencyConflict(Exception):
    pass


def fingerprint(*, saved_prompt: Prompt | None, tags: Sequence[str], via: str = "", **params) -> str:
    """The request's parameters, hashed; `via` (an entry point with its own
    retry rule, e.g. "openai") sets its requests apart from the same
    parameters sent another way."""
    params.update(saved_prompt=saved_prompt.pk if saved_prompt else None, tags=sorted(set(tags)))
    if via:
        params["via"] = via
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def replay(
    *, user, key: str | None, fingerprint: str, rows: type[Generation] | type[Batch] = Generation
) -> Any:
    """The generation (or, `rows=Batch`, the batch) first made with `key`
    (marked `replayed`), if any. A key older than IDEMPOTENCY_WINDOW is freed
    for reuse; a key used with other parameters raises IdempotencyConflict."""
    if not key:
        return None
    first = rows._default_manager.filter(owner=user, idempotency_key=key).first()
    if first is None:
        return None
    if first.created_at < timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_WINDOW):
        rows._default_manager.filter(pk=first.pk).update(idempotency_key=None)
        return None
    if first.request_fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"Idempotency-Key '{key}' was already used for a different "
            "request; use a new key for new parameters."
        )
    first.replayed = True
    return first


def retry_match(*, user, fingerprint: str) -> Generation | None:
    """For a request its client says is a retry but which carries no key (the
    official OpenAI SDK retries a timed-out or dropped request this way): the
    newest generation of the same parameters and entry point, made within
    RETRY_MATCH_WINDOW, whose answer never reached anyone (`answered_at`
    unset), not failed, canceled or deleted (marked `replayed`). Its client
    never got it, so the retry gets that image instead of paying for a second
    one; an image some request was already answered with is never handed out
    again."""
    since = timezone.now() - timedelta(seconds=settings.RETRY_MATCH_WINDOW)
    match = (
        Generation.objects.filter(
            owner=user,
            request_fingerprint=fingerprint,
            created_at__gte=since,
            answered_at=None,
            deleted_at=None,
        )
        .exclude(status__in=[Generation.Status.FAILED, Generation.Status.CANCELED])
        .order_by("-created_at")
        .first()
    )
    if match is not None:
        match.replayed = True
    return match
