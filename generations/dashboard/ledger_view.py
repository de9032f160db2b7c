"""The credits page's ledger as a person reads it: one line per image (spent
N, refunded, or held while it is made) instead of its hold, capture and
release entries, which stay one click away; grants, adjustments and resets
are lines of their own."""

from __future__ import annotations

from django.db.models import QuerySet

from generations.models import CreditEntry

Kind = CreditEntry.Kind
SETTLEMENTS = (Kind.CAPTURE, Kind.RELEASE)


def ledger_lines(entries: QuerySet) -> QuerySet:
    """The entries that are lines: every one but an image's capture or
    release, which are folded into the line of its hold (one of each per image,
    by the ledger's constraints)."""
    return entries.exclude(kind__in=SETTLEMENTS, generation__isnull=False)


def ledger_fold(lines, entries: QuerySet) -> None:
    """Give each image line on the page its settlement (from `entries`, the
    same scope the lines came from) and what it came to: `outcome` is "spent",
    "refunded" or "held"; `net` the change to the balance all told (-N spent,
    0 refunded, -N held for now); `credits` the N."""
    holds = [line for line in lines if line.kind == Kind.HOLD and line.generation_id]
    settled = {
        e.generation_id: e
        for e in entries.filter(generation__in=[h.generation_id for h in holds], kind__in=SETTLEMENTS)
    }
    for line in holds:
        line.settlement = settled.get(line.generation_id)
        kind = line.settlement.kind if line.settlement else None
        line.outcome = {Kind.CAPTURE: "spent", Kind.RELEASE: "refunded"}.get(kind, "held")
        line.net = line.amount + (line.settlement.amount if line.settlement else 0)
        line.credits = -line.amount if line.outcome == "held" else -line.net
