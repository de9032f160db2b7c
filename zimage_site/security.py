"""Sign-in throttling (django-axes): the client's address, the backend and the
answer a locked-out sign-in gets."""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _


def client_ip(request) -> str:
    """REMOTE_ADDR; behind TRUSTED_PROXY_COUNT proxies, the address the
    outermost of them saw, read from the right of X-Forwarded-For (the left
    part is whatever the client sent, so never trusted)."""
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [hop for hop in hops if hop]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR", "")


class SignInThrottleBackend(AxesStandaloneBackend):
    """django-axes' check before any password is compared. A call without a
    request (the test client's login(), a script) comes from no client, so
    there is nothing to count; sign-in forms always pass theirs."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class PasswordBackend(ModelBackend):
    """Django's own backend (sessions, permissions), whose password check
    answers no one while PASSWORD_LOGIN=0: then every way in that takes a
    password (the sign-in page, the admin's, a script calling authenticate())
    is shut at one place, and single sign-on is the only way in."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.PASSWORD_LOGIN:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_message() -> str:
    """The same words whether the username exists or not: nothing to enumerate."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return _("Too many failed sign-in attempts. Please wait %(minutes)d minutes and try again.") % {
        "minutes": minutes
    }


def locked_out(request, original_response=None, credentials=None):
    """The sign-in page again (the admin's for the admin), with the lockout
    message as the form's error and status 429."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    form.cleaned_data = {}  # an unbound form takes an error once it has (empty) data
    form.add_error(None, lockout_message())
    status = settings.AXES_HTTP_RESPONSE_CODE
    if request.path.startswith(reverse("admin:index")):
        context = {
            **admin.site.each_context(request),
            "form": form,
            "title": _("Log in"),
            "app_path": request.get_full_path(),
            "username": username,
        }
        return render(request, "admin/login.html", context, status=status)
    context = {"form": form, "next": request.POST.get("next", ""), "password_login": settings.PASSWORD_LOGIN}
    return render(request, "registration/login.html", context, status=status)
