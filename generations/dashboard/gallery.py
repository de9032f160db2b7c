"""The gallery's query: filters, prompt search and keyset pagination.

Pages are cut on (created_at, id), newest first, never with OFFSET, so page
1000 costs what page 1 costs; `gen_gallery` indexes that order per owner.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

from generations.models import Generation


@dataclass
class Page:
    items: list[Generation]
    next_cursor: str


def encode_cursor(generation: Generation) -> str:
    raw = f"{generation.created_at.isoformat()}|{generation.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    """None for a missing or mangled cursor: the first page is shown."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, pk = raw.split("|")
        # Aware and within the years a database holds: a crafted time at the
        # calendar's edge would overflow when converted for the query.
        parsed = datetime.fromisoformat(when)
        at = parsed.astimezone(UTC) if parsed.tzinfo else None
        if at is None or not 1 < at.year < 9999:
            return None
        return at, uuid.UUID(pk)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        return None


def filtered(queryset: QuerySet, filters: dict, *, user) -> QuerySet:
    """Apply the gallery form's cleaned filters; empty ones are ignored."""
    q = Q()
    if filters.get("status"):
        q &= Q(status=filters["status"])
    if filters.get("provider"):
        q &= Q(provider=filters["provider"])
    if filters.get("size"):
        q &= Q(width=filters["size"][0], height=filters["size"][1])
    if filters.get("date_from"):
        q &= Q(created_at__date__gte=filters["date_from"])
    if filters.get("date_to"):
        q &= Q(created_at__date__lt=filters["date_to"] + timedelta(days=1))
    if filters.get("tag"):
        q &= Q(tags__name=filters["tag"], tags__owner=user)
    if filters.get("collection"):
        q &= Q(collections=filters["collection"])
    if filters.get("q"):
        q &= Q(prompt__icontains=filters["q"]) | Q(rewritten_prompt__icontains=filters["q"])
    return queryset.filter(q)


def page(queryset: QuerySet, *, cursor: str = "", size: int) -> Page:
    """One page after `cursor`; `next_cursor` is empty on the last page."""
    queryset = queryset.order_by("-created_at", "-id")
    after = decode_cursor(cursor) if cursor else None
    if after:
        when, pk = after
        queryset = queryset.filter(Q(created_at__lt=when) | Q(created_at=when, id__lt=pk))
    items = list(queryset[: size + 1])
    more = len(items) > size
    items = items[:size]
    return Page(items=items, next_cursor=encode_cursor(items[-1]) if more else "")
