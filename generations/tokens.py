"""Personal API tokens: made, looked up by hash, revoked.

The token is `zis_` plus 43 random URL-safe characters; only its sha256 is
stored, so a copy of the database cannot be used to call the API. Lookup is by
the hash (an index hit whose timing says nothing about the token's characters).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import ApiToken

PREFIX = "zis_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user, name: str, expires_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token and its only readable copy, to show once."""
    raw = PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:12],
                                    token_hash=token_hash(raw), expires_at=expires_at)
    return token, raw


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The live token `raw` stands for, or None (unknown, revoked, expired, user inactive)."""
    if not raw.startswith(PREFIX):
        return None
    try:  # get(), not first(): the hash is unique, and ordering cost a fifth of the lookup
        token = ApiToken.objects.select_related("user").get(token_hash=token_hash(raw))
    except ApiToken.DoesNotExist:
        return None
    if not token.is_active or not token.user.is_active:
        return None
    _touch(token)
    return token


def _touch(token: ApiToken) -> None:
    """Record use at most once a minute: one conditional UPDATE, no write per request."""
    now = timezone.now()
    if token.last_used_at and token.last_used_at >= now - LAST_USED_RESOLUTION:
        return  # the row just read is fresh: no round trip for an UPDATE that would match nothing
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    if ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now):
        token.last_used_at = now
