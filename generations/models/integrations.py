"""API-side models: personal tokens and webhook signing and deliveries.
Imported by `generations.models`."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from generations.models.generation import OwnedQuerySet


class ApiTokenQuerySet(OwnedQuerySet):
    owner_field = "user"


class ApiToken(models.Model):
    """A personal API token. Only its sha256 is stored: the token itself is
    shown once, when it is made."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text=_("The first characters, to recognise it"))
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}...)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class WebhookSecret(models.Model):
    """The key a user's webhook deliveries are signed with (HMAC-SHA256)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_secret"
    )
    secret = models.CharField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"webhook secret of {self.user}"


class WebhookDelivery(models.Model):
    generation = models.ForeignKey(
        "generations.Generation", on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    url = models.URLField(max_length=500)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("HTTP status of the last attempt")
    )
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    gave_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"{self.url} ({self.last_status or 'pending'})"
