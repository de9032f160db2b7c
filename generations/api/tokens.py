"""Personal API tokens: made, looked up by hash, revoked.

The token is `zis_` plus 43 random URL-safe characters; only its sha256 is
stored, so a copy of the database cannot be used to call the API. Lookup is by
the hash (an index hit whose timing says nothing about the token's characters).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from generations.models import ApiToken

PREFIX = "zis_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class TokenOutlivesParent(ValueError):
    """A token may not be made to outlive the token that asks for it."""


def api_token_create(
    *, user, name: str, expires_days: int | None = None, parent: ApiToken | None = None
) -> tuple[ApiToken, str]:
    """A new token and its only readable copy, to show once.

    `parent`: the token the request that asks for this one came with. A token
    that expires makes only tokens that expire no later than itself: without
    `expires_days` the new one gets the parent's expiry; asking for a later
    one raises TokenOutlivesParent. A token without expiry may make any."""
    expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
    limit = parent.expires_at if parent is not None else None
    if limit is not None:
        if expires_at is None:
            expires_at = limit
        elif expires_at > limit:
            raise TokenOutlivesParent(
                f"A token may not outlive the token that creates it; this one expires at "
                f"{limit.isoformat()}. Ask for fewer days or leave expires_days out."
            )
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:12], token_hash=token_hash(raw), expires_at=expires_at
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The live token `raw` stands for, or None (unknown, revoked, expired, user inactive)."""
    if not raw.startswith(PREFIX):
        return None
    token = _with_user(token_hash(raw))
    if token is None or not token.is_active or not token.user.is_active:
        return None
    _touch(token)
    return token


def _with_user(digest: str) -> ApiToken | None:
    """The token with this hash and its user, as `select_related("user")` would
    give them, from a query written out once: every API request runs it, and
    building the queryset cost more than PostgreSQL's lookup."""
    sql, fields, token_names, user_names = _lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    values = []
    for value, (_, col, converters) in zip(row, fields, strict=True):
        for convert in converters:  # as the ORM does: SQLite's datetimes, JSON, ...
            value = convert(value, col, connection)
        values.append(value)
    count = len(token_names)
    token = ApiToken.from_db(connection.alias, token_names, values[:count])
    user = ApiToken.user.field.related_model.from_db(connection.alias, user_names, values[count:])
    ApiToken.user.field.set_cached_value(token, user)
    return token


@cache
def _lookup() -> tuple[str, list, list[str], list[str]]:
    """The query, each column's field, expression and converters, and the
    attribute names of the token's columns and of the user's."""
    user_model = ApiToken.user.field.related_model
    qn = connection.ops.quote_name
    fields, columns = [], []
    for alias, model in (("t", ApiToken), ("u", user_model)):
        for field in model._meta.concrete_fields:
            col = field.get_col(alias)
            fields.append(
                (field, col, [*connection.ops.get_db_converters(col), *field.get_db_converters(connection)])
            )
            columns.append(f"{alias}.{qn(field.column)}")
    digest = ApiToken._meta.get_field("token_hash").column
    sql = (
        f"SELECT {', '.join(columns)} FROM {qn(ApiToken._meta.db_table)} t "
        f"INNER JOIN {qn(user_model._meta.db_table)} u ON u.{qn(user_model._meta.pk.column)}"
        f" = t.{qn(ApiToken.user.field.column)} WHERE t.{qn(digest)} = %s"
    )
    names = [f.attname for f, _, _ in fields]
    count = len(ApiToken._meta.concrete_fields)
    return sql, fields, names[:count], names[count:]


def _touch(token: ApiToken) -> None:
    """Record use at most once a minute: one conditional UPDATE, no write per request."""
    now = timezone.now()
    if token.last_used_at and token.last_used_at >= now - LAST_USED_RESOLUTION:
        return  # the row just read is fresh: no round trip for an UPDATE that would match nothing
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    if ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now):
        token.last_used_at = now
