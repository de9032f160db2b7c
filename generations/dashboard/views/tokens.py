"""The API tokens page: list, create (the token is shown this once), revoke."""

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from generations.api import tokens
from generations.dashboard.forms import ApiTokenForm
from generations.models import ApiToken

FORMS_REMEMBERED = 20


@never_cache  # the answer to a create holds the raw token: no cache may keep a copy
@login_required
def tokens_page(request):
    form = ApiTokenForm(request.POST or None)
    created = raw = None
    resent = False
    if request.method == "POST" and form.is_valid():
        # Rendered straight into this answer, not redirected: a redirect would
        # need the token in the session or the URL, and only its hash may be kept.
        if _first_sending(request):
            created, raw = tokens.api_token_create(user=request.user, **form.cleaned_data)
        else:
            resent = True
        form = ApiTokenForm()
    return render(
        request,
        "generations/tokens.html",
        {
            "form": form,
            "tokens": ApiToken.objects.owned_by(request.user),
            "created": created,
            "raw_token": raw,
            "resent": resent,
            "form_id": secrets.token_urlsafe(12),
        },
    )


def _first_sending(request) -> bool:
    """Reloading the page that showed a new token sends its form again: that
    must not make a second token. Each form carries an id; the session keeps
    the last few ids sent (ids, not tokens). A form without one is let through."""
    form_id = request.POST.get("form_id", "")[:40]
    if not form_id:
        return True
    sent = request.session.get("token_forms", [])
    if form_id in sent:
        return False
    request.session["token_forms"] = [*sent[-(FORMS_REMEMBERED - 1) :], form_id]
    return True


@login_required
def token_revoke(request, pk):
    """GET asks to confirm; POST revokes. Another user's token is a 404."""
    token = get_object_or_404(ApiToken.objects.owned_by(request.user), pk=pk)
    if request.method == "POST":
        tokens.api_token_revoke(token=token)
        messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
        return redirect("tokens")
    return render(request, "generations/token_revoke.html", {"token": token})
