import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
    tag_set = models.ManyToManyField(Tag, related_name="prompts", blank=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self):
        return self.title or self.text[:60]


class GenerationQuerySet(models.QuerySet):
    def owned_by(self, user):
        """The one place user-reachable generation queries are scoped."""
        return self.filter(owner=user)

    def readable_by(self, user):
        """Owned, or shared read-only with the user's team (directly or
        through a team-shared collection). Trash is never shared."""
        from .teams import teammates_of

        mates = teammates_of(user)
        shared = Q(shared_with_team=True) | Q(collections__shared_with_team=True,
                                               collections__owner__in=mates)
        return self.filter(Q(owner=user) | (Q(owner__in=mates) & shared & Q(deleted_at=None))
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
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generations"
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
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)

    deleted_at = models.DateTimeField(null=True, blank=True, help_text=_("In the trash since"))
    # Purging removes the files but keeps the row: the ledger's entries point at it.
    purged_at = models.DateTimeField(null=True, blank=True)
    shared_with_team = models.BooleanField(default=False)
    public_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    tag_set = models.ManyToManyField(Tag, related_name="generations", blank=True)

    objects = GenerationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="gen_owner_created"),
            models.Index(fields=["status", "updated_at"], name="gen_status_updated"),
            # The gallery's keyset pagination walks (created_at, id) per owner.
            models.Index(fields=["owner", "deleted_at", "-created_at", "-id"], name="gen_gallery"),
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
    `generations.credits`, under `select_for_update`, beside a ledger entry."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_account"
    )
    balance = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    max_concurrent = models.PositiveIntegerField(default=0, help_text=_("0 = no limit"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_non_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="credit_held_non_negative"),
        ]

    def __str__(self):
        return f"{self.user} ({self.balance} credits)"


class CreditEntry(models.Model):
    """Append-only. Corrections are new entries, never edits."""

    class Kind(models.TextChoices):
        GRANT = "grant", _("Grant")
        HOLD = "hold", _("Hold")
        CAPTURE = "capture", _("Capture")
        RELEASE = "release", _("Release")
        ADJUSTMENT = "adjustment", _("Adjustment")
        QUOTA_RESET = "quota_reset", _("Quota reset")

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="entries")
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
