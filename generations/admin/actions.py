"""Admin actions that ask for details (an amount, a reason) on an intermediate
page before they change anything."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from generations.billing.ledger import InsufficientCredits


def form_action(model_admin: admin.ModelAdmin, request, queryset, *, form_class, title: str, apply: Callable):
    """Show `form_class` for the selected rows; once valid, call
    `apply(obj, cleaned_data)` for each and go back to the list.

    The changelist offers and runs only the actions the user's permissions
    allow (each declares them); this checks again, so that an action reached
    any other way neither shows its form nor changes anything."""
    if request.POST.get("action") not in model_admin.get_actions(request):
        raise PermissionDenied
    form = form_class(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        done = 0
        for obj in queryset:
            try:
                apply(obj, form.cleaned_data)
            except (InsufficientCredits, ValueError, ValidationError) as exc:
                model_admin.message_user(request, f"{obj}: {_text(exc)}", messages.ERROR)
            else:
                done += 1
        if done:
            said = _("%(title)s: done for %(count)d.") % {"title": title, "count": done}
            model_admin.message_user(request, said, messages.SUCCESS)
        return None
    return TemplateResponse(
        request,
        "admin/generations/action_form.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "objects": list(queryset),
            "opts": model_admin.model._meta,
            "action": request.POST["action"],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


def _text(exc: Exception) -> str:
    return "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
