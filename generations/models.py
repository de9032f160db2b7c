import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .error_texts import error_text


class ProviderConfig(models.Model):
    """An admin's settings for one provider. The key itself never lives here:
    `api_key_env` names the environment variable that holds it."""

    name = models.SlugField(max_length=40, unique=True, help_text=_("Registry name, e.g. dashscope"))
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    base_url = models.URLField(blank=True, help_text=_("Overrides <PROVIDER>_BASE_URL"))
    region = models.CharField(max_length=40, blank=True)
    api_key_env = models.CharField(
        max_length=80, blank=True, help_text=_("Name of the environment variable holding the key")
    )
    model_name = models.CharField(max_length=120, blank=True)
    timeout_s = models.PositiveIntegerField(default=120)
    max_concurrency = models.PositiveIntegerField(default=0, help_text=_("0 = unlimited"))
    internal = models.BooleanField(
        default=False, help_text=_("On the private network: image URLs may be private addresses")
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.api_key_env and not looks_like_env_name(self.api_key_env):
            raise ValidationError({"api_key_env": _(
                "Give the NAME of an environment variable (e.g. DASHSCOPE_API_KEY), never the "
                "key itself.")})


ENV_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,79}$")


def looks_like_env_name(value: str) -> bool:
    """An upper-case identifier with words (`DASHSCOPE_API_KEY`); a pasted key
    (`sk-...`, or a long run of letters and digits) is refused so that it never
    lands in the database."""
    if not ENV_NAME_RE.match(value):
        return False
    digits = sum(ch.isdigit() for ch in value)
    return ("_" in value or len(value) < 16) and digits * 3 <= len(value)


class Tag(models.Model):
    """A user's own label for generations and saved prompts."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="tag_owner_name")]

    def __str__(self):
        return self.name


class Prompt(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prompts")
    title = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    tags = models.ManyToManyField(Tag, related_name="prompts", blank=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self):
        return self.title or self.text[:60]


class GenerationQuerySet(models.QuerySet):
    def owned_by(self, user):
        """The one place user-reachable generation queries are scoped. Purged
        generations stay for the ledger's sake but no user reaches them; ones in
        the trash are reachable (to restore them): listings add `.live()`."""
        return self.filter(owner=user, purged_at=None)

    def readable_by(self, user):
        """Owned, or shared read-only with the user's team (directly or
        through a team-shared collection). Trash is never shared."""
        from .teams import teammates_of

        mates = teammates_of(user)
        shared = Q(shared_with_team=True) | Q(collections__shared_with_team=True,
                                               collections__owner__in=mates)
        return self.filter(Q(owner=user, purged_at=None)
                           | (Q(owner__in=mates) & shared & Q(deleted_at=None))
                           ).distinct()

    def live(self):
        """Not in the trash."""
        return self.filter(deleted_at=None)

    def in_flight(self):
        return self.filter(status__in=Generation.IN_FLIGHT)


class Generation(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        STORING = "storing", _("Storing")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    IN_FLIGHT = (Status.QUEUED, Status.RUNNING, Status.STORING)
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: gen_owner_created and gen_gallery start with it, and
    # every create would write a third index on the owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generations",
        db_index=False
    )
    prompt = models.TextField()
    saved_prompt = models.ForeignKey(Prompt, null=True, blank=True, on_delete=models.SET_NULL)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    seed = models.BigIntegerField(null=True, blank=True, help_text=_("Seed asked for"))
    seed_used = models.BigIntegerField(null=True, blank=True)
    prompt_extend = models.BooleanField(default=False)
    steps = models.PositiveSmallIntegerField(null=True, blank=True)
    provider = models.CharField(max_length=40)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    store_attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)

    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    request_id = models.CharField(max_length=200, blank=True)
    rewritten_prompt = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)
    source_url = models.TextField(blank=True)
    source_expires_at = models.DateTimeField(null=True, blank=True)
    provider_cost = models.JSONField(default=dict, blank=True)

    image = models.FileField(max_length=300, blank=True)
    thumbnail = models.FileField(max_length=300, blank=True)
    image_width = models.PositiveIntegerField(null=True, blank=True)
    image_height = models.PositiveIntegerField(null=True, blank=True)
    image_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    content_type = models.CharField(max_length=40, blank=True)

    credits_cost = models.PositiveIntegerField(default=0)
    provider_price = models.DecimalField(
        max_digits=12, decimal_places=4, default=0,
        help_text=_("What the provider charges for this image, in its currency, at creation"))
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)

    tags = models.ManyToManyField(Tag, blank=True, related_name="generations")
    webhook_url = models.URLField(max_length=500, blank=True)
    # A retried create with the same key returns this row; the fingerprint of
    # its parameters tells a retry from a different request under the same key.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text=_("In the trash since"))
    # Purging removes the files but keeps the row: the ledger's entries point at it.
    purged_at = models.DateTimeField(null=True, blank=True)
    shared_with_team = models.BooleanField(default=False)
    public_token = models.CharField(max_length=64, null=True, blank=True, unique=True)

    objects = GenerationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="gen_owner_created"),
            models.Index(fields=["status", "updated_at"], name="gen_status_updated"),
            # The gallery's keyset pagination walks (created_at, id) per owner.
            models.Index(fields=["owner", "deleted_at", "-created_at", "-id"], name="gen_gallery"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["owner", "idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False),
                                    name="gen_unique_idempotency_key"),
        ]

    def __str__(self):
        return f"{self.prompt[:40]} ({self.status})"

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def error_text(self) -> str:
        """Why it failed, translated for the reader where the code is known."""
        return error_text(self.error_code, self.error_message)

    @property
    def wait_seconds(self) -> float | None:
        """Queued until a worker started it."""
        return (self.started_at - self.created_at).total_seconds() if self.started_at else None

    @property
    def run_seconds(self) -> float | None:
        """Started until finished (provider call and storing)."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1_000_000


class PendingImage(models.Model):
    """Image bytes a provider returned (b64) kept until the copy into storage
    succeeds, so a storage outage or a killed worker loses nothing."""

    generation = models.OneToOneField(Generation, on_delete=models.CASCADE, primary_key=True,
                                      related_name="pending_image")
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"pending image for {self.generation_id}"


class CollectionQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)

    def readable_by(self, user):
        from .teams import teammates_of

        return self.filter(Q(owner=user) | Q(owner__in=teammates_of(user), shared_with_team=True))


class Collection(models.Model):
    """A named set of generations; a generation may be in several."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="collections")
    name = models.CharField(max_length=120)
    generations = models.ManyToManyField(Generation, related_name="collections", blank=True)
    shared_with_team = models.BooleanField(default=False)
    public_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CollectionQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class CreditAccount(models.Model):
    """`balance` is what may still be spent (the ledger sum); `held` is the part
    of past holds not yet captured or released. Both change only in
    `generations.credits`, under `select_for_update`, beside a ledger entry.

    An account belongs to a user or to a team (the team's shared pool), never
    both; the limits below apply to whoever owns it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="credit_account")
    team = models.OneToOneField(
        "generations.Team", null=True, blank=True, on_delete=models.CASCADE,
        related_name="credit_account")
    balance = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    max_concurrent = models.PositiveIntegerField(default=0, help_text=_("0 = no limit"))
    max_per_minute = models.PositiveIntegerField(
        default=0, help_text=_("New generations per minute; 0 = no limit"))
    period_limit = models.PositiveIntegerField(
        default=0, help_text=_("Most credits spent per calendar month; 0 = no limit"))
    allowed_providers = models.JSONField(
        default=list, blank=True, help_text=_("Provider names; empty = all"))
    monthly_allowance = models.PositiveIntegerField(
        default=0, help_text=_("Credits granted at the start of every month"))
    carry_over = models.BooleanField(
        default=True, help_text=_("Keep unused allowance; off = it expires at the period end"))
    frozen = models.BooleanField(default=False, help_text=_("No new generations"))
    low_balance_threshold = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("E-mail under this balance; empty = LOW_BALANCE_THRESHOLD"))
    low_balance_notified = models.BooleanField(default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_non_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="credit_held_non_negative"),
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True)
                | Q(user__isnull=True, team__isnull=False),
                name="credit_account_one_owner"),
        ]
        # Moving credits is its own right: change_creditaccount edits limits only.
        permissions = [("grant_credits", "Can grant or deduct credits and set allowances")]

    def __str__(self):
        return f"{self.owner_label} ({self.balance} credits)"

    @property
    def owner_label(self) -> str:
        return f"team {self.team}" if self.team_id else str(self.user)

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
    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries",
                                db_index=False)
    amount = models.BigIntegerField(help_text=_("Signed change to the spendable balance"))
    kind = models.CharField(max_length=12, choices=Kind.choices)
    generation = models.ForeignKey(
        Generation, null=True, blank=True, on_delete=models.SET_NULL, related_name="credit_entries"
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


# API and admin-side models live in their own modules; imported here so Django and
# `from generations.models import ...` find them.
from .models_api import ApiToken, WebhookDelivery, WebhookSecret  # noqa: E402, F401
from .models_billing import (  # noqa: E402, F401
    AuditLog,
    PriceRule,
    ProviderSlot,
    Team,
    TeamMembership,
)
