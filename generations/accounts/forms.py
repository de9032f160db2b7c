"""Forms of joining: the invitation a team admin sends, the account an
invitation makes, and the password reset request (rate limited)."""

import time

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    team_admin = forms.BooleanField(label=_("Joins as a team admin"), required=False)


class InvitedUserForm(UserCreationForm):
    """A username and a password; the e-mail address is the invitation's."""

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)


def _count(key: str) -> int:
    """One more in this hour's counter for `key`; the count so far."""
    window = int(time.time() // 3600)
    full = f"pwreset:{key}:{window}"
    cache.add(full, 0, timeout=3600)
    try:
        return cache.incr(full)
    except ValueError:  # expired between add and incr
        cache.set(full, 1, timeout=3600)
        return 1


class RateLimitedPasswordResetForm(PasswordResetForm):
    """Django's form, sending at most PASSWORD_RESET_PER_ADDRESS_HOUR
    messages an hour to one address; more are dropped without a word, so the
    answer is the same whether or not the address has an account."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kw):
        if _count(f"to:{to_email.lower()}") > settings.PASSWORD_RESET_PER_ADDRESS_HOUR:
            return
        super().send_mail(subject_template_name, email_template_name, context, from_email, to_email, **kw)


def reset_requests_exceeded(client_ip: str) -> bool:
    """Whether this client address has asked for more resets this hour than allowed."""
    return _count(f"ip:{client_ip}") > settings.PASSWORD_RESET_PER_IP_HOUR
