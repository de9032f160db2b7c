"""The credit ledger: the only code that writes `CreditEntry`. Callers use
this module alone; on PostgreSQL it writes a plain create's hold, and a
success's capture, each in one statement with its generation (`ledger_pg`,
private to it), and it alone decides when that path runs.

Every function locks the account row (`select_for_update`), appends one entry
and updates the cached figures in the same transaction, so the cached balance
always equals the ledger sum.

Accounting: a hold takes the price out of the spendable balance at once
(negative entry) and adds it to `held`; a capture settles it (amount 0: the
credits are spent); a release gives it back (positive entry).

A member of a team may pay from their own account or the team's pool: the
hold picks one, and the capture or release settles the account the hold was
written on.
"""

from dataclasses import dataclass
from functools import cache, partial

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext

from generations.billing import ledger_pg, notify
from generations.models import CreditAccount, CreditEntry, Generation, Team, TeamMembership

Kind = CreditEntry.Kind


class InsufficientCredits(Exception):
    def __init__(self, *, needed: int, available: int, images: int = 1, covers: int = 0):
        self.needed, self.available, self.images, self.covers = needed, available, images, covers
        values = {"needed": needed, "available": available, "images": images, "covers": covers}
        if images == 1:
            message = gettext("This image costs %(needed)d credits but only %(available)d are available.")
        else:
            message = gettext(
                "These %(images)d images cost %(needed)d credits but only %(available)d are "
                "available: enough for %(covers)d of them."
            )
        super().__init__(message % values)


@dataclass(frozen=True)
class Balance:
    available: int
    held: int


def account_for(user) -> CreditAccount:
    """`user`'s own account. Every user has one from the moment they exist
    (`account_open`); the get_or_create covers a user made before that rule
    whose account the data migration has not reached."""
    account, _ = CreditAccount.objects.get_or_create(user=user)
    return account


def account_open(user) -> CreditAccount:
    """Give a new user their account with STARTING_CREDITS, once: run on
    every user's creation (the app's post_save signal), so staff can grant
    credits to a user who has never signed in. The grant's key makes a second
    call a no-op."""
    account = account_for(user)
    if settings.STARTING_CREDITS > 0:
        grant(
            account=account,
            amount=settings.STARTING_CREDITS,
            note="starting credits",
            idempotency_key=f"starting-credits:{user.pk}",
        )
        account.refresh_from_db()
    return account


def team_account(team: Team) -> CreditAccount:
    account, _ = CreditAccount.objects.get_or_create(team=team)
    return account


def _locked(account_id: int) -> CreditAccount:
    return CreditAccount.objects.select_for_update().get(pk=account_id)


def _append(account: CreditAccount, *, amount: int, held_delta: int = 0, **fields) -> CreditEntry:
    """`account` was just locked by the caller (select_for_update), so its
    figures are current and can be written back without reading them again."""
    entry = CreditEntry.objects.create(account=account, amount=amount, **fields)
    account.balance += amount
    account.held += held_delta
    CreditAccount.objects.filter(pk=account.pk).update(balance=account.balance, held=account.held)
    _watch_low_balance(account)
    return entry


def _watch_low_balance(account: CreditAccount) -> None:
    """Flip `low_balance_notified` when the balance crosses the threshold, and
    e-mail on the way down only: one message per crossing, not per image."""
    threshold = account.low_balance_threshold
    if threshold is None:
        threshold = settings.LOW_BALANCE_THRESHOLD
    low = bool(threshold) and account.balance < threshold
    if low == account.low_balance_notified:
        return
    CreditAccount.objects.filter(pk=account.pk).update(low_balance_notified=low)
    account.low_balance_notified = low
    if low:
        transaction.on_commit(partial(notify.low_balance, account_id=account.pk))


def payers_locked(user) -> list[CreditAccount]:
    """The accounts `user` may draw from, in the order they are tried, locked
    for the caller's transaction with one query (own account and team pool
    together, in primary-key order so two holds never wait on each other).
    A pool not made yet has nothing to pay with and is left out."""
    return _payers(user, lock=True)


def payers(user) -> list[CreditAccount]:
    """`payers_locked` without the lock: what a page shows (`spendable`)."""
    return _payers(user, lock=False)


def _payers(user, *, lock: bool) -> list[CreditAccount]:
    accounts = list(CreditAccount.objects.raw(_payers_sql(lock), [user.pk, user.pk]))
    own = next((a for a in accounts if a.user_id == user.pk), None)
    if own is None:  # a user older than account_open: make the account, then read it with the rest
        account_for(user)
        return _payers(user, lock=lock)
    pool = next((a for a in accounts if a.team_id), None)
    if pool is None:
        return [own]
    first = pool.team_draw_order == Team.DrawOrder.TEAM_FIRST  # type: ignore[attr-defined]  # from the query
    return [pool, own] if first else [own, pool]


@cache
def _payers_sql(lock: bool = True) -> str:
    """Written out rather than built by the ORM: every create runs it, and
    compiling the equivalent queryset cost more than PostgreSQL's work. SQLite
    has no row locks (its one writer serializes the transaction instead)."""
    account, team = CreditAccount._meta.db_table, Team._meta.db_table
    membership = TeamMembership._meta.db_table
    locking = " FOR UPDATE OF a" if lock and connection.features.has_select_for_update_of else ""
    return (
        f"SELECT a.*, t.draw_order AS team_draw_order FROM {account} a "
        f"LEFT JOIN {team} t ON t.id = a.team_id "
        f"WHERE a.user_id = %s OR a.team_id IN "
        f"(SELECT m.team_id FROM {membership} m WHERE m.user_id = %s) ORDER BY a.id{locking}"
    )


def hold(*, generation: Generation, amount: int, locked: list[CreditAccount] | None = None) -> CreditEntry:
    """Reserve `amount` for `generation` on the first of the owner's accounts
    that can pay it all (a frozen team pool is skipped). Raises
    InsufficientCredits, writing nothing. `locked`: the owner's
    `payers_locked()`, when the caller's transaction holds them already."""
    if locked is not None:
        return _hold_on(locked, generation=generation, amount=amount)
    with transaction.atomic():
        return _hold_on(payers_locked(generation.owner), generation=generation, amount=amount)


def usable_payers(accounts: list[CreditAccount]) -> list[CreditAccount]:
    """The payers a hold may draw on, in order: a frozen team pool is skipped
    (a frozen own account stops every create in the quota check instead)."""
    return [a for a in accounts if not (a.frozen and a.team_id)]


def payer_of(accounts: list[CreditAccount], amount: int) -> CreditAccount | None:
    """The account that pays `amount`: the first usable one that can pay it all
    (a hold is never split between accounts), or None."""
    return next((a for a in usable_payers(accounts) if a.balance >= amount), None)


def _hold_on(accounts: list[CreditAccount], *, generation: Generation, amount: int) -> CreditEntry:
    account = payer_of(accounts, amount)
    if account is None:
        usable = usable_payers(accounts)
        raise InsufficientCredits(needed=amount, available=max((a.balance for a in usable), default=0))
    return _append(
        account,
        amount=-amount,
        held_delta=amount,
        kind=Kind.HOLD,
        generation=generation,
        note=f"{generation.provider} {generation.size}",
    )


def hold_many(*, generations: list[Generation], locked: list[CreditAccount]) -> list[CreditEntry]:
    """Hold every generation's price at once (a batch, inserted in the
    caller's transaction, which holds `locked`: the owner's `payers_locked()`),
    each on the first account that can pay it, as `hold` would; or raise
    InsufficientCredits naming how many of them the balances cover, writing
    nothing. One entry per generation and one update per account."""
    usable = usable_payers(locked)
    left = {a.pk: a.balance for a in usable}
    chosen: list[CreditAccount] = []
    for generation in generations:
        account = next((a for a in usable if left[a.pk] >= generation.credits_cost), None)
        if account is None:
            break
        left[account.pk] -= generation.credits_cost
        chosen.append(account)
    if len(chosen) < len(generations):
        raise InsufficientCredits(
            needed=sum(g.credits_cost for g in generations),
            available=sum(a.balance for a in usable),
            images=len(generations),
            covers=len(chosen),
        )
    entries = CreditEntry.objects.bulk_create(
        CreditEntry(
            account=account,
            amount=-g.credits_cost,
            kind=Kind.HOLD,
            generation=g,
            note=f"{g.provider} {g.size}",
        )
        for g, account in zip(generations, chosen, strict=True)
    )
    for account in {a.pk: a for a in chosen}.values():
        taken = account.balance - left[account.pk]
        account.balance, account.held = left[account.pk], account.held + taken
        CreditAccount.objects.filter(pk=account.pk).update(balance=account.balance, held=account.held)
        _watch_low_balance(account)
    return entries


def _settle(generation: Generation, kind: str) -> CreditEntry | None:
    """Capture or release the hold of `generation`, once, on the account the
    hold was written on. Idempotent: a second call (a task run twice) finds the
    settlement and returns None; two at once are told apart by the constraint
    allowing one settlement per generation."""
    entries = list(CreditEntry.objects.filter(generation=generation).only("kind", "amount", "account_id"))
    held = next((e for e in entries if e.kind == Kind.HOLD), None)
    if held is None or any(e.kind in (Kind.CAPTURE, Kind.RELEASE) for e in entries):
        return None
    amount = -held.amount
    with transaction.atomic(savepoint=False):
        account = _locked(held.account_id)
        try:
            with transaction.atomic():
                return _append(
                    account,
                    amount=0 if kind == Kind.CAPTURE else amount,
                    held_delta=-amount,
                    kind=kind,
                    generation=generation,
                )
        except IntegrityError:  # settled concurrently by another worker
            return None


def _capture_hold(generation: Generation, hold: CreditEntry) -> CreditEntry:
    """Capture `hold`, in hand, for a caller that has just moved `generation`
    out of flight with a conditional UPDATE in this transaction: that row lock
    makes this happen once, so nothing is read back and no savepoint is needed
    (the constraint still refuses a second settlement). Spending moves only
    `held` (the balance, and its low-balance watch, moved at the hold): one
    UPDATE, which takes the account's row lock, and the entry."""
    with transaction.atomic(savepoint=False):
        CreditAccount.objects.filter(pk=hold.account_id).update(held=F("held") + hold.amount)
        return CreditEntry.objects.create(
            account_id=hold.account_id, amount=0, kind=Kind.CAPTURE, generation=generation
        )


def hold_of(generation: Generation) -> CreditEntry | None:
    """The generation's hold entry (amount and account only)."""
    return (
        CreditEntry.objects.filter(generation=generation, kind=Kind.HOLD).only("amount", "account_id").first()
    )


def capture(*, generation: Generation, hold: CreditEntry | None = None) -> CreditEntry | None:
    """`hold`: see _capture_hold."""
    if hold is not None:
        return _capture_hold(generation, hold)
    return _settle(generation, Kind.CAPTURE)


def release(*, generation: Generation) -> CreditEntry | None:
    return _settle(generation, Kind.RELEASE)


def grant(
    *,
    user=None,
    account: CreditAccount | None = None,
    amount: int,
    actor=None,
    note: str = "",
    kind: str = Kind.GRANT,
    idempotency_key: str | None = None,
) -> CreditEntry:
    """Add (or, with a negative amount, take away) credits on `account` (or
    `user`'s own). A negative amount larger than the spendable balance is refused."""
    if amount == 0:
        raise ValueError("A grant of 0 credits changes nothing")
    with transaction.atomic():
        account = _locked((account or account_for(user)).pk)
        if idempotency_key:
            existing = CreditEntry.objects.filter(idempotency_key=idempotency_key).first()
            if existing:
                return existing
        if account.balance + amount < 0:
            raise InsufficientCredits(needed=-amount, available=account.balance)
        return _append(
            account, amount=amount, kind=kind, actor=actor, note=note, idempotency_key=idempotency_key
        )


def transfer(*, source: CreditAccount, target: CreditAccount, amount: int, actor, note: str) -> CreditEntry:
    """Move `amount` from `source` to `target` (a team pool to a member's own
    account): an adjustment out and a grant in, in one transaction, both
    accounts locked in primary-key order like `payers_locked`. Refuses, writing
    nothing, when `source` cannot pay it all. Returns the grant."""
    if amount <= 0:
        raise ValueError("A transfer moves a positive number of credits")
    with transaction.atomic():
        rows = CreditAccount.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")
        locked = {a.pk: a for a in rows}
        paying, receiving = locked[source.pk], locked[target.pk]
        if paying.balance < amount:
            raise InsufficientCredits(needed=amount, available=paying.balance)
        _append(paying, amount=-amount, kind=Kind.ADJUSTMENT, actor=actor, note=note)
        return _append(receiving, amount=amount, kind=Kind.GRANT, actor=actor, note=note)


def adjust(*, user=None, account: CreditAccount | None = None, amount: int, actor, note: str) -> CreditEntry:
    if not note.strip():
        raise ValueError("An adjustment needs a reason")
    return grant(user=user, account=account, amount=amount, actor=actor, note=note, kind=Kind.ADJUSTMENT)


def balance(*, user) -> Balance:
    account = account_for(user)
    return Balance(available=account.balance, held=account.held)


def ledger_problems() -> list[str]:
    """Every broken invariant, named; empty when the books are right."""
    problems = []
    sums = dict(CreditEntry.objects.values_list("account").annotate(total=Sum("amount")))
    for account in CreditAccount.objects.select_related("user", "team"):
        total = sums.get(account.pk, 0) or 0
        name = account.owner_label
        if account.balance != total:
            problems.append(f"account {name}: balance {account.balance} != ledger sum {total}")
        if account.balance < 0:
            problems.append(f"account {name}: negative balance {account.balance}")
        open_holds = _open_hold_total(account)
        if account.held != open_holds:
            problems.append(f"account {name}: held {account.held} != open holds {open_holds}")
    problems += _generation_problems()
    return problems


def _open_hold_total(account: CreditAccount) -> int:
    settled = CreditEntry.objects.filter(kind__in=[Kind.CAPTURE, Kind.RELEASE]).values("generation")
    open_holds = CreditEntry.objects.filter(account=account, kind=Kind.HOLD).exclude(generation__in=settled)
    return -(open_holds.aggregate(s=Sum("amount"))["s"] or 0)


def _generation_problems() -> list[str]:
    def count(kind):
        return Count("credit_entries", filter=Q(credit_entries__kind=kind))

    finished = (
        Generation.objects.filter(status__in=Generation.FINISHED, credits_cost__gt=0)
        .annotate(holds=count(Kind.HOLD), captures=count(Kind.CAPTURE), releases=count(Kind.RELEASE))
        .values_list("id", "status", "holds", "captures", "releases")
    )
    problems = []
    for gen_id, status, holds, captures, releases in finished.iterator():
        expected = (1, 0) if status == Generation.Status.SUCCEEDED else (0, 1)
        if holds != 1 or (captures, releases) != expected:
            problems.append(
                f"generation {gen_id} ({status}): {holds} hold(s), {captures} capture(s), "
                f"{releases} release(s)"
            )
    return problems


def generation_insert_held(*, generation: Generation, cost: int) -> CreditEntry | None:
    """Insert `generation` (built, not saved) with its hold in one statement
    where the database allows it: the hold entry, or None when nothing was
    written (SQLite, or a limit applies) and the caller must take the full
    path (`payers_locked`, the quota checks, `hold`)."""
    return ledger_pg.generation_insert_held(generation=generation, cost=cost)


def generation_succeed_captured(*, generation: Generation, fields: dict, source: str) -> bool | None:
    """Write `fields` (a success, with its status fields) on `generation` if it
    is still in `source` and not being canceled, and capture its hold, in one
    statement. True or False (nothing written) where that statement exists;
    None where it does not, for the caller to move and `capture` itself."""
    if not ledger_pg.usable():
        return None
    return ledger_pg.generation_succeed_captured(generation=generation, fields=fields, status=source)
