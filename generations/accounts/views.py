"""Pages of joining and signing in: the sign-in page (password and a button
per identity provider), sign-out (and the provider's, where it offers it),
accepting an invitation, inviting from the team page, password reset."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from generations.accounts import invitations, oidc
from generations.accounts.adapters import SESSION_BACKEND
from generations.accounts.forms import (
    InvitedUserForm,
    InviteForm,
    RateLimitedPasswordResetForm,
    reset_requests_exceeded,
)
from generations.models import Invitation, TeamMembership
from zimage_site.security import client_ip


def _sign_in_context(request) -> dict:
    return {"sso_buttons": oidc.sign_in_buttons(request), "password_login": settings.PASSWORD_LOGIN}


class SignInView(auth_views.LoginView):
    """Django's sign-in (django-axes throttles it), with the SSO buttons;
    with PASSWORD_LOGIN=0 the password form is gone and a posted one refused."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **_sign_in_context(self.request)}

    def post(self, request, *args, **kwargs):
        if not settings.PASSWORD_LOGIN:
            messages.error(request, _("Password sign-in is turned off here: use single sign-on."))
            return redirect("login")
        return super().post(request, *args, **kwargs)


def admin_sign_in(request):
    """The admin's sign-in: its own password form, or with PASSWORD_LOGIN=0
    the site's sign-in page (single sign-on), which comes back to the admin."""
    if settings.PASSWORD_LOGIN:
        return admin.site.login(request)
    after = request.GET.get("next") or reverse("admin:index")  # LoginView checks that it is ours
    return redirect(f"{reverse('login')}?{urlencode({'next': after})}")


@require_POST
def sign_out(request):
    """End the site's session; after an SSO sign-in, go on to the provider's
    end-session page (where it has one), which comes back to the sign-in page."""
    provider_id = request.session.get(oidc.SESSION_PROVIDER)
    id_token = request.session.get(oidc.SESSION_ID_TOKEN, "")
    logout(request)
    after = request.build_absolute_uri(reverse("login"))
    if provider_id:
        url = oidc.end_session_url(request, provider_id, id_token=id_token, after=after)
        if url:
            return redirect(url)
    return redirect("login")


def invitation_accept(request, token: str):
    """The invitation link: make an account with a password, or through one
    of the identity providers; a used, expired or revoked link says so."""
    try:
        invitation = invitations.usable(token)
    except invitations.InvitationError as error:
        return render(request, "registration/invitation.html", {"error": str(error)}, status=410)
    if request.user.is_authenticated:
        return render(
            request,
            "registration/invitation.html",
            {"error": _("You are signed in already. Sign out first to accept this invitation.")},
            status=409,
        )
    # Kept for the SSO round trip: the adapter accepts it when the account is made.
    request.session[invitations.SESSION_KEY] = invitation.pk
    form = InvitedUserForm(request.POST or None) if settings.PASSWORD_LOGIN else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save(commit=False)
                user.email = invitation.email
                user.save()
                invitations.accept(invitation_id=invitation.pk, user=user)
        except invitations.InvitationError as error:  # used meanwhile in another tab
            return render(request, "registration/invitation.html", {"error": str(error)}, status=410)
        request.session.pop(invitations.SESSION_KEY, None)
        login(request, user, backend=SESSION_BACKEND)
        messages.success(request, _("Welcome! Your account is ready."))
        return redirect("home")
    return render(
        request,
        "registration/invitation.html",
        {"invitation": invitation, "form": form, **_sign_in_context(request)},
    )


def _admin_team(user):
    membership = TeamMembership.objects.select_related("team").filter(user=user, is_admin=True).first()
    return membership.team if membership else None


@login_required
@require_POST
def team_invite(request):
    """A team admin invites a colleague to their team (from the team page)."""
    team = _admin_team(request.user)
    if team is None:
        raise Http404
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitations.invite(
                inviter=request.user,
                email=form.cleaned_data["email"],
                team=team,
                team_admin=form.cleaned_data["team_admin"],
            )
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
            )
        except invitations.InvitationError as error:
            messages.error(request, str(error))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("staff_team")


@login_required
@require_POST
def invitation_revoke(request, pk: int):
    invitation = get_object_or_404(Invitation.objects.manageable_by(request.user), pk=pk)
    try:
        invitations.revoke(invitation=invitation, actor=request.user)
        messages.success(request, _("Invitation to %(email)s revoked.") % {"email": invitation.email})
    except invitations.InvitationError as error:
        messages.error(request, str(error))
    return redirect("staff_team")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's token view: the same answer whether the address has an
    account or not; rate limited per client address (429) and per address
    (silently). Gone while PASSWORD_LOGIN=0."""

    form_class = RateLimitedPasswordResetForm
    success_url = reverse_lazy("password_reset_done")

    def dispatch(self, request, *args, **kwargs):
        if not settings.PASSWORD_LOGIN:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if reset_requests_exceeded(client_ip(request)):
            form = self.get_form()
            form.is_valid()
            form.add_error(None, _("Too many password reset requests. Please try again in an hour."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)
