"""django-allauth's hooks: who may come in through single sign-on, and what
happens when they do.

- The ID token must carry the nonce of this browser's request (oidc.py).
- A person with no account yet gets one just in time if their e-mail domain
  is in OIDC_ALLOWED_DOMAINS or an invitation waits for them (the link they
  opened, or one sent to their address); anyone else is refused with a page
  that says so. People who already have an account always get in (unless
  an admin deactivated it).
- At every sign-in the group claim is mapped again to team and staff
  (membership.apply_groups), and the provider is remembered for sign-out.
- allauth's own sign-up form is closed: accounts are made by invitation,
  by SSO, or by an admin.
"""

import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.signals import user_logged_in
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.shortcuts import render
from django.utils.translation import gettext as _

from generations.accounts import invitations, membership, oidc
from generations.billing import ledger

log = logging.getLogger(__name__)

SESSION_BACKEND = "zimage_site.security.PasswordBackend"


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        """No self-service sign-up form: invitations and SSO make accounts."""
        return False

    def login(self, request, user) -> None:
        """The session names the site's own backend: allauth would otherwise
        pick the first in AUTHENTICATION_BACKENDS (the throttle, which loads no user)."""
        if not hasattr(user, "backend"):
            user.backend = SESSION_BACKEND
        super().login(request, user)


def refuse(request, message: str, status: int = 403):
    """Stop the sign-in with a page that says why, in the person's language."""
    response = render(request, "registration/sso_refused.html", {"message": message}, status=status)
    raise ImmediateHttpResponse(response)


def email_of(sociallogin) -> str:
    addresses = sociallogin.email_addresses or []
    return addresses[0].email if addresses else (oidc.claims(sociallogin).get("email") or "")


def domain_allowed(email: str) -> bool:
    domain = email.rpartition("@")[2].lower()
    return bool(domain) and domain in settings.OIDC_ALLOWED_DOMAINS


def invitation_for(request, email: str):
    """The invitation this sign-in may use: the link opened in this browser
    (whatever address the provider reports), else one sent to the address."""
    invitation_id = request.session.get(invitations.SESSION_KEY)
    if invitation_id:
        found = invitations.Invitation.objects.pending().filter(pk=invitation_id).first()
        if found:
            return found
    return invitations.pending_for_email(email)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin) -> None:
        """Checked after allauth has found (or not) the account, before anyone is signed in."""
        if not oidc.nonce_matches(sociallogin):
            log.warning("SSO sign-in refused: the ID token's nonce does not match the request's")
            refuse(request, _("The sign-in answer did not match this browser's request. Please try again."))
        if sociallogin.is_existing:
            return
        email = email_of(sociallogin)
        if not email:
            refuse(
                request,
                _("Your identity provider did not give an e-mail address, so no account can be made."),
            )
        if not (domain_allowed(email) or invitation_for(request, email)):
            log.info("SSO sign-up refused for %s: domain not allowed and no invitation", email)
            refuse(
                request,
                _(
                    "%(email)s has no account here, and its domain is not one whose people may join "
                    "by themselves. Ask a team admin for an invitation."
                )
                % {"email": email},
            )

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True  # pre_social_login has already refused whoever may not join

    def save_user(self, request, sociallogin, form=None):
        """The just-in-time account: the user, their credit account, and the
        invitation they came with (which puts them on its team)."""
        invitation = invitation_for(request, email_of(sociallogin))
        try:
            # One transaction: an invitation used meanwhile (another tab) leaves no account behind.
            with transaction.atomic():
                user = super().save_user(request, sociallogin, form)
                ledger.account_for(user)
                if invitation:
                    invitations.accept(invitation_id=invitation.pk, user=user)
        except invitations.InvitationError as error:
            refuse(request, str(error))
        request.session.pop(invitations.SESSION_KEY, None)
        log.info("account %s made at first SSO sign-in", user.get_username())
        return user


@receiver(user_logged_in, dispatch_uid="generations-accounts-sso-signed-in")
def _signed_in(sender, request, user, sociallogin=None, **kwargs):
    """After every SSO sign-in: groups mapped again, the provider remembered for sign-out."""
    if sociallogin is None:
        return
    provider_id = sociallogin.account.provider
    membership.apply_groups(user=user, groups=oidc.groups_of(sociallogin), provider=provider_id)
    request.session[oidc.SESSION_PROVIDER] = provider_id
    request.session[oidc.SESSION_ID_TOKEN] = getattr(request, "sso_id_token", "")
