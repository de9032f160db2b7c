"""A generation and what a user keeps around it: tags, prompts, collections,
the stashed bytes of a copy to try again. `owned_by` / `readable_by` are the
one place a user's querysets are scoped."""

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from generations.models.error_texts import error_text

if TYPE_CHECKING:
    from generations.models.billing import CreditEntry


class OwnedQuerySet(models.QuerySet):
    """Rows that belong to one user: `owned_by` is the one place a model the
    API and the dashboard show its owner is scoped (`owner_field` names the
    user). Generations and collections, which teammates may also read, add
    `readable_by`."""

    owner_field = "owner"

    def owned_by(self, user):
        return self.filter(**{self.owner_field: user})


class Tag(models.Model):
    """A user's own label for generations and saved prompts."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=60)

    objects = OwnedQuerySet.as_manager()

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
    # The settings of the image it was saved from, so "Use" fills the whole
    # Generate form; empty for a prompt typed on the prompts page.
    provider = models.CharField(max_length=40, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    prompt_extend = models.BooleanField(null=True, blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self):
        return self.title or self.text[:60]


class Batch(models.Model):
    """A named group of ordinary generations made by one request: each keeps
    its own row, hold, settlement, storage and status; the batch only ties
    them together for progress, cancel-the-rest and download-all."""

    replayed: bool = False  # set by a create answered with an earlier batch, never stored

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batches")
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # As for a single create: a retried request with the same key returns this batch.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="batch_unique_idempotency_key",
            ),
        ]

    def __str__(self):
        return self.name or f"batch {str(self.id)[:8]}"


class GenerationQuerySet(OwnedQuerySet):
    def owned_by(self, user):
        """The one place user-reachable generation queries are scoped. Purged
        generations stay for the ledger's sake but no user reaches them; ones in
        the trash are reachable (to restore them): listings add `.live()`."""
        return super().owned_by(user).filter(purged_at=None)

    def readable_by(self, user):
        """Owned, or shared read-only with the user's team (directly or
        through a team-shared collection). Trash is never shared."""
        from generations.billing.teams import teammates_of

        mates = teammates_of(user)
        shared = Q(shared_with_team=True) | Q(
            collections__shared_with_team=True, collections__owner__in=mates
        )
        return self.filter(
            Q(owner=user, purged_at=None) | (Q(owner__in=mates) & shared & Q(deleted_at=None))
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

    # Set on an instance by the code that has just made or run it, never stored.
    replayed: bool = False  # an idempotent create answered with an earlier generation
    hold_entry: "CreditEntry | None" = None  # its hold, for a capture that need not read it back
    tag_names: list[str] | None = None  # its tags, for an answer that need not read them back
    image_data: bytes | None = None  # the bytes just stored, for an inline answer
    # time.monotonic() until which an inline caller still waits for it: a success
    # before then records `answered_at` in its own write, not in one more UPDATE
    answer_until: float | None = None

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: gen_owner_created and gen_gallery start with it, and
    # every create would write a third index on the owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generations", db_index=False
    )
    prompt = models.TextField()
    saved_prompt = models.ForeignKey(Prompt, null=True, blank=True, on_delete=models.SET_NULL)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    seed = models.BigIntegerField(null=True, blank=True, help_text=_("Seed asked for"))
    seed_used = models.BigIntegerField(null=True, blank=True)
    prompt_extend = models.BooleanField(default=False)
    steps = models.PositiveSmallIntegerField(null=True, blank=True)
    provider = models.CharField(max_length=40, help_text=_("The provider it runs on (made it, once done)"))
    # The route it was asked for ('' when a provider was named: no fallback).
    route = models.CharField(max_length=60, blank=True)
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
        max_digits=12,
        decimal_places=4,
        default=0,
        help_text=_("What the provider charges for this image, in its currency, at creation"),
    )
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)

    tags = models.ManyToManyField(Tag, blank=True, related_name="generations")
    webhook_url = models.URLField(max_length=500, blank=True)
    # A retried create with the same key returns this row; the fingerprint of
    # its parameters tells a retry from a different request under the same key.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text=_("In the trash since"))
    # Set when the OpenAI endpoint answered a request with this image: an SDK
    # retry is then another request, not this one's (idempotency.retry_match).
    answered_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Purging removes the files but keeps the row: the ledger's entries point at it.
    purged_at = models.DateTimeField(null=True, blank=True)
    shared_with_team = models.BooleanField(default=False)
    public_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # Batch items wait behind their owner's single requests (lifecycle.dispatch).
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="generations"
    )
    batch_index = models.PositiveIntegerField(null=True, blank=True)
    # A retried row waits in the queue until then (its backoff), whoever dispatches it.
    run_after = models.DateTimeField(null=True, blank=True, editable=False)

    objects = GenerationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="gen_owner_created"),
            models.Index(fields=["status", "updated_at"], name="gen_status_updated"),
            # The gallery's keyset pagination walks (created_at, id) per owner.
            models.Index(fields=["owner", "deleted_at", "-created_at", "-id"], name="gen_gallery"),
            # The providers a user has images from, for the filters' choices
            # (dashboard.forms.provider_filter_choices): read from the index alone.
            models.Index(fields=["owner", "provider"], name="gen_owner_provider"),
            # The fair-share dispatcher's look at what waits for a provider.
            models.Index(
                fields=["provider", "owner", "created_at"],
                condition=Q(status="queued"),
                name="gen_queued",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="gen_unique_idempotency_key",
            ),
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

    generation = models.OneToOneField(
        Generation, on_delete=models.CASCADE, primary_key=True, related_name="pending_image"
    )
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"pending image for {self.generation_id}"


class CollectionQuerySet(OwnedQuerySet):
    def readable_by(self, user):
        from generations.billing.teams import teammates_of

        return self.filter(Q(owner=user) | Q(owner__in=teammates_of(user), shared_with_team=True))


class Collection(models.Model):
    """A named set of generations; a generation may be in several."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections")
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
