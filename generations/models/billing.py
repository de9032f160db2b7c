"""Money: credit accounts and their append-only entries, teams and their pools,
price rules, and the audit log of every admin change."""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from generations.models.generation import OwnedQuerySet


class CreditAccount(models.Model):
    """`balance` is what may still be spent (the ledger sum); `held` is the part
    of past holds not yet captured or released. Both change only in
    `generations.billing.ledger`, under `select_for_update`, beside a ledger entry.

    An account belongs to a user or to a team (the team's shared pool), never
    both; the limits below apply to whoever owns it."""

    # Every per-account limit, with the value that means "no limit": the one
    # list the quota checks, the ledger's one-statement create (which writes
    # only for an account with none of them), the admin, the staff pages and
    # the API read. A new limit goes here and in `quotas.quota_check_create`.
    NO_LIMIT: ClassVar[dict[str, Any]] = {
        "max_concurrent": 0,
        "max_per_minute": 0,
        "period_limit": 0,
        "allowed_providers": [],
    }

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credit_account",
    )
    team = models.OneToOneField(
        "generations.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="credit_account"
    )
    balance = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    max_concurrent = models.PositiveIntegerField(default=0, help_text=_("0 = no limit"))
    max_per_minute = models.PositiveIntegerField(
        default=0, help_text=_("New generations per minute; 0 = no limit")
    )
    period_limit = models.PositiveIntegerField(
        default=0, help_text=_("Most credits spent per calendar month; 0 = no limit")
    )
    allowed_providers = models.JSONField(default=list, blank=True, help_text=_("Provider names; empty = all"))
    monthly_allowance = models.PositiveIntegerField(
        default=0, help_text=_("Credits granted at the start of every month")
    )
    carry_over = models.BooleanField(
        default=True, help_text=_("Keep unused allowance; off = it expires at the period end")
    )
    frozen = models.BooleanField(default=False, help_text=_("No new generations"))
    low_balance_threshold = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("E-mail under this balance; empty = LOW_BALANCE_THRESHOLD")
    )
    low_balance_notified = models.BooleanField(default=False, editable=False)
    # The counted limits as a site admin last set them in the admin: a team
    # admin may set this member's limits only within them (staff_forms).
    staff_limits = models.JSONField(default=dict, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_non_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="credit_held_non_negative"),
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True) | Q(user__isnull=True, team__isnull=False),
                name="credit_account_one_owner",
            ),
        ]
        # Moving credits is its own right: change_creditaccount edits limits only.
        permissions = [("grant_credits", "Can grant or deduct credits and set allowances")]

    def __str__(self):
        return f"{self.owner_label} ({self.balance} credits)"

    @property
    def owner_label(self) -> str:
        return f"team {self.team}" if self.team_id else str(self.user)

    def has_limits(self) -> bool:
        """Whether any limit in NO_LIMIT is set (frozen is not a limit: a stop)."""
        return any(getattr(self, name) != none for name, none in self.NO_LIMIT.items())

    def allows_provider(self, name: str) -> bool:
        return not self.allowed_providers or name in self.allowed_providers


class CreditEntry(models.Model):
    """Append-only. Corrections are new entries, never edits."""

    class Kind(models.TextChoices):
        GRANT = "grant", _("Grant")
        HOLD = "hold", _("Hold")
        CAPTURE = "capture", _("Capture")
        RELEASE = "release", _("Release")
        ADJUSTMENT = "adjustment", _("Adjustment")
        QUOTA_RESET = "quota_reset", _("Quota reset")

    # No index of its own: entry_account_created starts with it.
    account = models.ForeignKey(
        CreditAccount, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    amount = models.BigIntegerField(help_text=_("Signed change to the spendable balance"))
    kind = models.CharField(max_length=12, choices=Kind.choices)
    generation = models.ForeignKey(
        "generations.Generation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="credit_entries",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"
        indexes = [models.Index(fields=["account", "-created_at"], name="entry_account_created")]
        constraints = [
            # One hold and one settlement (capture or release) per generation,
            # enforced by the database, not just by code paths.
            models.UniqueConstraint(
                fields=["generation"], condition=Q(kind="hold"), name="one_hold_per_generation"
            ),
            models.UniqueConstraint(
                fields=["generation"],
                condition=Q(kind__in=["capture", "release"]),
                name="one_settlement_per_generation",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount:+d}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Credit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Credit entries are append-only")


class Team(models.Model):
    """A group of users drawing on one shared credit pool (a CreditAccount
    whose `team` is this team)."""

    class DrawOrder(models.TextChoices):
        OWN_FIRST = "own_first", _("Member's own credits first, then the team pool")
        TEAM_FIRST = "team_first", _("Team pool first, then the member's own credits")

    name = models.CharField(max_length=120, unique=True)
    draw_order = models.CharField(max_length=12, choices=DrawOrder.choices, default=DrawOrder.TEAM_FIRST)
    # What a person who joins the team (by invitation or group mapping) gets on
    # their own account: any of CreditAccount.NO_LIMIT's limits and
    # monthly_allowance. generations.accounts.membership applies them.
    member_defaults = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            'Limits a new member gets, e.g. {"max_concurrent": 2, "period_limit": 500, '
            '"monthly_allowance": 100}'
        ),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TeamMembership(models.Model):
    """A user belongs to at most one team; team admins manage their members' limits."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_membership"
    )
    is_admin = models.BooleanField(default=False, help_text=_("May manage members' limits"))

    class Meta:
        ordering = ["team", "user"]

    def __str__(self):
        return f"{self.user} in {self.team}"


class PriceRule(models.Model):
    """Credits per image up to `max_megapixels`. Rules for a provider win over
    rules for any provider (''); with no rule at all the built-in bands apply."""

    provider = models.CharField(max_length=40, blank=True, help_text=_("Empty = any provider"))
    max_megapixels = models.DecimalField(max_digits=5, decimal_places=2)
    credits = models.PositiveIntegerField()
    prompt_extend_surcharge = models.PositiveIntegerField(default=0)
    provider_cost = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        default=0,
        help_text=_("What the provider charges per image, in its own currency"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "max_megapixels"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "max_megapixels"], name="one_price_per_band")
        ]

    def __str__(self):
        return f"{self.provider or 'any'} <= {self.max_megapixels} MP: {self.credits} credits"


class AuditLog(models.Model):
    """Every admin change to credits, limits, prices or providers."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    action = models.CharField(max_length=40)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self):
        return f"{self.action} {self.object_type} {self.object_id}"


class CreditRequestQuerySet(OwnedQuerySet):
    owner_field = "requester"


class CreditRequest(models.Model):
    """A member asks for credits; a site admin (a grant) or their team's admin
    (from the pool) approves or declines it (`billing.credit_requests`). The
    requester is told once on the dashboard (`told_at`) and by e-mail."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for an answer")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_requests"
    )
    # The requester's team when they asked: its admins may answer, from its pool.
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    amount = models.PositiveIntegerField()
    reason = models.CharField(max_length=500)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    from_pool = models.BooleanField(default=False, help_text=_("Approved from the team pool"))
    told_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = CreditRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["requester", "-created_at"], name="credit_request_requester"),
            models.Index(fields=["state", "team"], name="credit_request_open"),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="credit_request_positive")]

    def __str__(self):
        return f"#{self.pk} {self.requester}: {self.amount} credits ({self.state})"
