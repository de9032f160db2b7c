"""Who may spend what: create-time checks, monthly allowances, and the admin
operations on accounts. Credits move only through `credits`; every admin
change is written to the audit log with its reason."""

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from generations.billing import ledger
from generations.billing.audit import audit_record, audited_save, snapshot
from generations.models import CreditAccount, CreditEntry, Generation, ProviderConfig

Kind = CreditEntry.Kind
# Seconds after which the price line looks again while too many images are in
# progress: one finishing frees a place, and no event tells the form.
IN_FLIGHT_RECHECK = 5


class LimitExceeded(Exception):
    """The account may not start this generation now; the message says why.
    `retry_after`: seconds after which the same create may pass by itself (a
    wait, an image finishing), for the price line to look again; None when only
    an admin can change it."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class AccountFrozen(LimitExceeded):
    pass


class ProviderNotAllowed(LimitExceeded):
    pass


def period_start(moment: datetime | None = None) -> datetime:
    """Periods are calendar months in UTC."""
    moment = (moment or timezone.now()).astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def period_key(moment: datetime) -> str:
    return f"{period_start(moment):%Y-%m}"


def allowance_resets_at(account: CreditAccount, *, now: datetime | None = None) -> datetime | None:
    """When the next allowance is granted: the start of the next period, or
    None without an allowance. The credits page and GET /api/v1/me/ both show
    this, so they cannot disagree."""
    if not account.monthly_allowance:
        return None
    # Day 1 plus 32 days always lands in the next month, whatever its length.
    return period_start(period_start(now) + timedelta(days=32))


def spent_this_period(*, user) -> int:
    """Credits of this month's generations that are not refunded (held or captured)."""
    spent = Generation.objects.filter(owner=user, created_at__gte=period_start()).exclude(
        status__in=[Generation.Status.FAILED, Generation.Status.CANCELED]
    )
    return spent.aggregate(s=Sum("credits_cost"))["s"] or 0


def quota_check_create(*, user, account: CreditAccount, provider: str, cost: int, images: int = 1) -> None:
    """Raise LimitExceeded (or a subclass) when `account`, locked by the caller,
    may not start `images` generations costing `cost` in all on `provider` now.
    Each limit of `CreditAccount.NO_LIMIT` is checked here, counting images, not
    requests: a batch passes or is refused as a whole."""
    if account.frozen:
        raise AccountFrozen(
            _(
                "Your account is frozen by an admin: no new images can be started. "
                "Ask an admin to unfreeze it."
            )
        )
    if not account.has_limits():
        return
    if not account.allows_provider(provider):
        raise ProviderNotAllowed(
            _("Your account may not use %(provider)s; it may use %(allowed)s.")
            % {"provider": provider, "allowed": ", ".join(account.allowed_providers)}
        )
    _check_in_flight(user, account, images)
    _check_rate(user, account, images)
    if account.period_limit and spent_this_period(user=user) + cost > account.period_limit:
        raise LimitExceeded(
            ngettext(
                "This image would take your spending this month above your limit of %(limit)d credits.",
                "These %(count)d images would take your spending this month above your limit of "
                "%(limit)d credits.",
                images,
            )
            % {"count": images, "limit": account.period_limit}
        )


def _check_in_flight(user, account: CreditAccount, images: int) -> None:
    limit = account.max_concurrent
    if not limit:
        return
    if images > limit:
        raise LimitExceeded(
            _(
                "Your account allows %(limit)d generations in progress at once, so a batch of "
                "%(count)d images is too large: make at most %(limit)d at a time."
            )
            % {"limit": limit, "count": images}
        )
    in_flight = Generation.objects.filter(owner=user).in_flight().count()
    if in_flight + images > limit:
        raise LimitExceeded(
            _(
                "You already have %(count)d generations in progress and your account allows "
                "%(limit)d at once. Wait for one to finish."
            )
            % {"count": in_flight, "limit": limit},
            retry_after=IN_FLIGHT_RECHECK,
        )


def _check_rate(user, account: CreditAccount, images: int) -> None:
    limit = account.max_per_minute
    if not limit:
        return
    if images > limit:
        raise LimitExceeded(
            _(
                "You may start at most %(limit)d images a minute, so a batch of %(count)d images is "
                "too large: make at most %(limit)d at a time."
            )
            % {"limit": limit, "count": images}
        )
    since = timezone.now() - timedelta(minutes=1)
    recent = Generation.objects.filter(owner=user, created_at__gte=since).order_by("created_at")
    first = recent.first()
    if first is not None and recent.count() + images > limit:
        wait = (first.created_at + timedelta(minutes=1) - timezone.now()).total_seconds()
        raise LimitExceeded(
            _("You may start at most %(limit)d images a minute; try again in %(wait)d seconds.")
            % {"limit": limit, "wait": max(1, round(wait))},
            retry_after=max(1, round(wait)),
        )


# --- monthly allowance -------------------------------------------------------------


def allowance_run(*, now: datetime | None = None) -> None:
    """Grant this period's allowance to every account that has not had it yet
    (and expire last period's unused allowance where it does not carry over).
    Safe to run twice or late: each grant has a key per account and period."""
    now = now or timezone.now()
    ids = CreditAccount.objects.filter(Q(monthly_allowance__gt=0) | Q(carry_over=False))
    for account_id in ids.values_list("pk", flat=True):
        allowance_apply(account_id=account_id, now=now)


def _grant_key(account_id: int, period: str) -> str:
    return f"allowance:{account_id}:{period}"


def allowance_apply(*, account_id: int, now: datetime) -> None:
    period = period_key(now)
    with transaction.atomic():
        account = CreditAccount.objects.select_for_update().get(pk=account_id)
        if CreditEntry.objects.filter(idempotency_key=_grant_key(account_id, period)).exists():
            return
        if not account.carry_over:
            _expire_previous(account, now)
        if account.monthly_allowance:
            ledger.grant(
                account=account,
                amount=account.monthly_allowance,
                kind=Kind.QUOTA_RESET,
                note=f"monthly allowance {period}",
                idempotency_key=_grant_key(account_id, period),
            )


def _expire_previous(account: CreditAccount, now: datetime) -> None:
    """Take away what is left of last period's allowance. Spending is counted
    against the allowance first; never below 0, and held credits are not
    spendable balance, so they are never touched."""
    start = period_start(now)
    previous = period_key(start - timedelta(days=1))
    granted = CreditEntry.objects.filter(idempotency_key=_grant_key(account.pk, previous)).first()
    if granted is None:
        return
    spent = -(
        CreditEntry.objects.filter(
            account=account,
            kind__in=[Kind.HOLD, Kind.RELEASE],
            created_at__gte=granted.created_at,
            created_at__lt=start,
        ).aggregate(s=Sum("amount"))["s"]
        or 0
    )
    account.refresh_from_db(fields=["balance"])
    left = min(account.balance, max(0, granted.amount - spent))
    if left:
        ledger.grant(
            account=account,
            amount=-left,
            kind=Kind.QUOTA_RESET,
            note=f"unused allowance of {previous} expired",
            idempotency_key=f"allowance-expiry:{account.pk}:{previous}",
        )


# --- admin operations -----------------------------------------------------------


def account_grant(*, account: CreditAccount, amount: int, actor, reason: str) -> CreditEntry:
    """Add (amount > 0) or deduct (amount < 0) credits: a ledger entry plus an audit record."""
    if not reason.strip():
        raise ValueError("Give a reason; it goes in the ledger and the audit log.")
    with transaction.atomic():
        before = {"balance": account.balance}
        entry = ledger.grant(
            account=account,
            amount=amount,
            actor=actor,
            note=reason.strip(),
            kind=Kind.GRANT if amount > 0 else Kind.ADJUSTMENT,
        )
        account.refresh_from_db()
        audit_record(
            actor=actor,
            obj=account,
            action="grant" if amount > 0 else "deduct",
            before=before,
            after={"balance": account.balance},
            reason=reason,
        )
    return entry


def account_transfer(
    *, source: CreditAccount, target: CreditAccount, amount: int, actor, reason: str
) -> CreditEntry:
    """Move credits from a team's pool to a member's own account (a team admin
    approving a credit request): both ledger entries, and an audit record on
    each account with its balance before and after."""
    if not reason.strip():
        raise ValueError("Give a reason; it goes in the ledger and the audit log.")
    with transaction.atomic():
        before = {a.pk: a.balance for a in CreditAccount.objects.filter(pk__in=[source.pk, target.pk])}
        entry = ledger.transfer(source=source, target=target, amount=amount, actor=actor, note=reason.strip())
        for account, action in ((source, "give to member"), (target, "grant from pool")):
            account.refresh_from_db()
            audit_record(
                actor=actor,
                obj=account,
                action=action,
                before={"balance": before[account.pk]},
                after={"balance": account.balance},
                reason=reason,
            )
    return entry


def account_update(*, account: CreditAccount, actor, reason: str, action: str, **changes) -> CreditAccount:
    """Change settings of an account (limits, allowance, frozen), audited."""
    fields = sorted(changes)
    with transaction.atomic():
        locked = CreditAccount.objects.select_for_update().get(pk=account.pk)
        before = snapshot(locked, fields)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=["user", "team"])
        locked.save(update_fields=[*fields, "updated_at"])
        audit_record(
            actor=actor,
            obj=locked,
            action=action,
            before=before,
            after=snapshot(locked, fields),
            reason=reason,
        )
    return locked


def provider_config_save(*, config: ProviderConfig, actor, reason: str) -> None:
    """Save an admin's provider settings; one default at most."""
    with transaction.atomic():
        audited_save(obj=config, actor=actor, reason=reason)
        if config.is_default:
            ProviderConfig.objects.filter(is_default=True).exclude(pk=config.pk).update(is_default=False)
