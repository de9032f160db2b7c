"""The API tokens page: list, create (the token is shown this once), revoke."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from .. import tokens
from ..forms import ApiTokenForm
from ..models import ApiToken


@never_cache  # the answer to a create holds the raw token: no cache may keep a copy
@login_required
def tokens_page(request):
    form = ApiTokenForm(request.POST or None)
    created = raw = None
    if request.method == "POST" and form.is_valid():
        # Rendered straight into this answer, not redirected: a redirect would
        # need the token in the session or the URL, and only its hash may be kept.
        created, raw = tokens.api_token_create(user=request.user, **form.cleaned_data)
        form = ApiTokenForm()
    return render(request, "generations/tokens.html", {
        "form": form, "tokens": ApiToken.objects.filter(user=request.user),
        "created": created, "raw_token": raw})


@login_required
def token_revoke(request, pk):
    """GET asks to confirm; POST revokes. Another user's token is a 404."""
    token = get_object_or_404(ApiToken, user=request.user, pk=pk)
    if request.method == "POST":
        tokens.api_token_revoke(token=token)
        messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
        return redirect("tokens")
    return render(request, "generations/token_revoke.html", {"token": token})
