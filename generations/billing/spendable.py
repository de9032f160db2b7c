"""What a user can spend: their own credits and their team's pool, in the
team's draw order. The one answer that the header, the generate form's price
line, the credits page, GET /api/v1/me/ and the quote API all show, so that
none of them says "0" while the pool pays.

The rules are the ledger's (which accounts pay, in which order, a frozen pool
skipped, a hold never split) and the quotas' (frozen, monthly limit,
per-minute wait): this module reads them, it decides nothing of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from generations.billing import ledger, quotas
from generations.models import CreditAccount, CreditEntry


@dataclass(frozen=True)
class Source:
    """One account a user may draw on: their own, or their team's pool."""

    account: CreditAccount
    usable: bool  # False: a frozen pool, which no hold draws on

    @property
    def is_pool(self) -> bool:
        return self.account.team_id is not None

    @property
    def available(self) -> int:
        return self.account.balance

    @property
    def held(self) -> int:
        return self.account.held


@dataclass(frozen=True)
class Spendable:
    """A user's sources in draw order, and their figures."""

    sources: tuple[Source, ...]

    @property
    def available(self) -> int:
        """Credits the user may still spend, all usable sources together."""
        return sum(s.available for s in self.sources if s.usable)

    @property
    def held(self) -> int:
        """Credits held for images in progress, on any of the sources."""
        return sum(s.held for s in self.sources)

    @property
    def largest(self) -> int:
        """The most one image may cost: a hold is never split between accounts."""
        return max((s.available for s in self.sources if s.usable), default=0)

    @property
    def own(self) -> CreditAccount:
        return next(s.account for s in self.sources if not s.is_pool)

    @property
    def pool(self) -> Source | None:
        return next((s for s in self.sources if s.is_pool), None)

    def payer(self, cost: int) -> Source | None:
        """The source that would pay `cost` now (the ledger's choice), or None."""
        account = ledger.payer_of([s.account for s in self.sources], cost)
        return next((s for s in self.sources if s.account is account), None)


def spendable_for(user) -> Spendable:
    """`user`'s sources, read without locks (one query, the ledger's own)."""
    accounts = ledger.payers(user)
    usable = {a.pk for a in ledger.usable_payers(accounts)}
    return Spendable(sources=tuple(Source(account=a, usable=a.pk in usable) for a in accounts))


@dataclass(frozen=True)
class PriceCheck:
    """The price line: what an image costs, who would pay, and what stops it.
    `problem` is the reason a create would be refused now, in the words the
    create itself would use; empty when it would go through."""

    cost: int
    spendable: Spendable
    payer: Source | None
    problem: str = ""
    short: bool = False  # refused for want of credits (the line offers to ask for more)
    retry_after: float | None = None  # the problem may pass by itself then (quotas.LimitExceeded)

    @property
    def after(self) -> int:
        return self.spendable.available - self.cost


def price_check(*, user, provider: str, cost: int, images: int = 1) -> PriceCheck:
    """Everything a create of `images` costing `cost` in all on `provider`
    would check, before it is submitted: the quotas (frozen, provider, in
    flight, per-minute wait, monthly limit, by `quotas.quota_check_create`
    itself) and whether any source can pay. Writes nothing; a create still
    checks again under locks."""
    spendable = spendable_for(user)
    payer = spendable.payer(cost)
    try:
        quotas.quota_check_create(
            user=user, account=spendable.own, provider=provider, cost=cost, images=images
        )
    except quotas.LimitExceeded as exc:
        return PriceCheck(
            cost=cost, spendable=spendable, payer=payer, problem=str(exc), retry_after=exc.retry_after
        )
    if payer is None:
        problem = str(ledger.InsufficientCredits(needed=cost, available=spendable.largest))
        return PriceCheck(cost=cost, spendable=spendable, payer=None, problem=problem, short=True)
    return PriceCheck(cost=cost, spendable=spendable, payer=payer)


def entries_for(user, spendable: Spendable | None = None) -> QuerySet[CreditEntry]:
    """The ledger lines a user may read: every entry on their own account, and
    the entries on their team's pool that their own images caused (its holds,
    captures and releases); newest first."""
    spendable = spendable or spendable_for(user)
    mine = Q(account=spendable.own)
    if spendable.pool is not None:
        mine |= Q(account=spendable.pool.account, generation__owner=user)
    return CreditEntry.objects.filter(mine).select_related("generation", "account")
