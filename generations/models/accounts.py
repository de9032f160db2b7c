"""Joining the site: invitations by e-mail, and the group claims of single
sign-on mapped to teams and staff (the services are in `generations.accounts`)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        """Neither accepted nor revoked, and not expired yet."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())

    def manageable_by(self, user):
        """What `user` may see and revoke: staff every one, a team admin their team's."""
        if user.is_staff:
            return self
        return self.filter(team__memberships__user=user, team__memberships__is_admin=True)


class Invitation(models.Model):
    """A signed, single-use link sent to `email`. The link carries only the
    row's id, signed with SECRET_KEY; the row says whether it may still be used."""

    email = models.EmailField()
    team = models.ForeignKey(
        "generations.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    team_admin = models.BooleanField(default=False, help_text=_("Joins as one of the team's admins"))
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(Lower("email"), name="invitation_email")]

    def __str__(self):
        return f"{self.email} ({self.team or _('no team')})"

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class GroupMapping(models.Model):
    """A group named in an identity provider's group claim, and what it
    gives: a team (optionally as its admin) and/or staff status. Applied at
    every single sign-on, together with OIDC_GROUP_MAP from the environment."""

    group = models.CharField(
        max_length=200, unique=True, help_text=_("As the provider names it in the claim")
    )
    team = models.ForeignKey(
        "generations.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="group_mappings"
    )
    team_admin = models.BooleanField(default=False)
    staff = models.BooleanField(default=False, help_text=_("Members get staff status (no permissions)"))

    class Meta:
        ordering = ["group"]
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=False) | Q(staff=True), name="group_mapping_gives_something"
            )
        ]

    def __str__(self):
        return self.group
