"""Invitations: a team admin or a staff member invites a colleague by e-mail.

The link is `/invite/<token>/`, the token the invitation's id signed with
SECRET_KEY (nothing to guess); the row decides whether it still works: used
once (`accepted_at`), until `expires_at` (INVITATION_DAYS, 7 by default),
unless revoked. Accepting makes the account (with a password, or through
single sign-on) already on the team, with the team's member defaults.
Sent, accepted and revoked invitations are in the audit log.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from generations.accounts.membership import join_team
from generations.billing import ledger
from generations.billing.audit import audit_record
from generations.models import Invitation, TeamMembership

log = logging.getLogger(__name__)

SALT = "generations.invitation"
# Where the invitation being accepted through single sign-on waits in the
# session while the browser is at the identity provider.
SESSION_KEY = "invitation_id"


class InvitationError(Exception):
    """Why an invitation cannot be used or sent; the message is for the person."""


def token_for(invitation: Invitation) -> str:
    return signing.dumps(invitation.pk, salt=SALT)


def link_for(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("invitation_accept", args=[token_for(invitation)])


def may_invite(user, team) -> bool:
    """Staff may invite to any team or none; a team admin to their own team."""
    if user.is_staff:
        return True
    return team is not None and TeamMembership.objects.filter(user=user, team=team, is_admin=True).exists()


def invite(*, inviter, email: str, team=None, team_admin: bool = False) -> Invitation:
    """Make the invitation, audit it and e-mail the link (after commit)."""
    email = get_user_model().objects.normalize_email(email.strip())
    if not may_invite(inviter, team):
        raise InvitationError(_("Only staff or the team's admins may invite people to it."))
    check_invitable(email=email, team=team)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            email=email,
            team=team,
            team_admin=team_admin,
            invited_by=inviter,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_DAYS),
        )
        audit_record(
            actor=inviter,
            obj=invitation,
            action="invitation sent",
            before={},
            after={"email": email, "team": str(team or ""), "expires_at": invitation.expires_at.isoformat()},
            reason=f"invited by {inviter.get_username()}",
        )
        transaction.on_commit(lambda: _send(invitation))
    return invitation


def check_invitable(*, email: str, team) -> None:
    """InvitationError when `email` has an account, or a pending invitation to `team` already."""
    if get_user_model().objects.filter(email__iexact=email).exists():
        raise InvitationError(_("%(email)s already has an account.") % {"email": email})
    if Invitation.objects.pending().filter(email__iexact=email, team=team).exists():
        raise InvitationError(_("%(email)s already has a pending invitation.") % {"email": email})


def _send(invitation: Invitation) -> None:
    """E-mail through Django's backend (console by default, SMTP from the environment)."""
    context = {
        "invitation": invitation,
        "link": link_for(invitation),
        "inviter": invitation.invited_by,
        "days": settings.INVITATION_DAYS,
    }
    send_mail(
        subject=render_to_string("registration/invitation_subject.txt", context).strip(),
        message=render_to_string("registration/invitation_email.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


def revoke(*, invitation: Invitation, actor) -> None:
    """Revoke a pending invitation (audited); its link stops working at once."""
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.state != "pending":
            raise InvitationError(_("This invitation is no longer pending."))
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            obj=locked,
            action="invitation revoked",
            before={"state": "pending"},
            after={"state": "revoked", "email": locked.email},
            reason=f"revoked by {actor.get_username()}",
        )


def usable(token: str) -> Invitation:
    """The invitation behind `token` if it may still be accepted, else
    InvitationError saying why (used, expired, revoked, not a link of ours)."""
    try:
        pk = signing.loads(token, salt=SALT)
    except signing.BadSignature as error:
        raise InvitationError(_("This invitation link is not valid.")) from error
    invitation = Invitation.objects.select_related("team").filter(pk=pk).first()
    if invitation is None:
        raise InvitationError(_("This invitation link is not valid."))
    return _check(invitation)


def _check(invitation: Invitation) -> Invitation:
    state = invitation.state
    if state == "accepted":
        raise InvitationError(_("This invitation has already been used. Sign in instead."))
    if state == "revoked":
        raise InvitationError(_("This invitation was revoked. Ask for a new one."))
    if state == "expired":
        raise InvitationError(_("This invitation has expired. Ask for a new one."))
    return invitation


def accept(*, invitation_id: int, user) -> Invitation:
    """Use the invitation for `user` (just made, by password or single
    sign-on): once only, under a row lock, so two tabs cannot both use it."""
    with transaction.atomic():
        # The row alone (a team it may lack is an outer join, which PostgreSQL will not lock).
        invitation = _check(Invitation.objects.select_for_update(of=("self",)).get(pk=invitation_id))
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        ledger.account_for(user)
        reason = f"invitation {invitation.pk} accepted"
        if invitation.team:
            join_team(
                user=user, team=invitation.team, is_admin=invitation.team_admin, actor=user, reason=reason
            )
        audit_record(
            actor=user,
            obj=invitation,
            action="invitation accepted",
            before={"state": "pending"},
            after={"state": "accepted", "email": invitation.email, "user": user.get_username()},
            reason=reason,
        )
    return invitation


def pending_for_email(email: str) -> Invitation | None:
    """The newest pending invitation sent to `email` (any case), if any."""
    if not email:
        return None
    return Invitation.objects.pending().filter(email__iexact=email).order_by("-created_at").first()


def pending_for_team(team):
    """The team page's list: pending invitations to `team`, newest first."""
    return Invitation.objects.pending().filter(team=team).select_related("invited_by")
