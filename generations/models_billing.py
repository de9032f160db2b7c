"""Admin-side models: teams and their shared pools, price rules, provider
concurrency slots and the audit log. Imported by `generations.models`."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    """A group of users drawing on one shared credit pool (a CreditAccount
    whose `team` is this team)."""

    class DrawOrder(models.TextChoices):
        OWN_FIRST = "own_first", _("Member's own credits first, then the team pool")
        TEAM_FIRST = "team_first", _("Team pool first, then the member's own credits")

    name = models.CharField(max_length=120, unique=True)
    draw_order = models.CharField(max_length=12, choices=DrawOrder.choices,
                                  default=DrawOrder.TEAM_FIRST)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TeamMembership(models.Model):
    """A user belongs to at most one team; team admins manage their members' limits."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="team_membership")
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
        max_digits=12, decimal_places=4, default=0,
        help_text=_("What the provider charges per image, in its own currency"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "max_megapixels"]
        constraints = [models.UniqueConstraint(fields=["provider", "max_megapixels"],
                                               name="one_price_per_band")]

    def __str__(self):
        return f"{self.provider or 'any'} <= {self.max_megapixels} MP: {self.credits} credits"


class ProviderSlot(models.Model):
    """One of a provider's `max_concurrency` call slots, shared by every worker
    through the database; `holder` is the generation using it."""

    provider = models.CharField(max_length=40)
    number = models.PositiveIntegerField()
    holder = models.UUIDField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "number"],
                                               name="one_slot_per_number")]

    def __str__(self):
        return f"{self.provider} #{self.number}"


class AuditLog(models.Model):
    """Every admin change to credits, limits, prices or providers."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="+")
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
