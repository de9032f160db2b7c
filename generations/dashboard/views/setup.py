"""The staff setup checklist (/staff/setup/): from the demo to real images.

Any staff member may look; pressing "Test this provider" needs the
permission to change provider configs (a view-only staff member gets 403).
A test makes ONE ordinary image through the usual create path
(services.generation_create, paid from the tester's own credits and
refunded if it fails), run at once in this request as the OpenAI endpoint
does, and the page then shows the stored image or the provider's error."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from generations.billing.ledger import InsufficientCredits
from generations.billing.quotas import LimitExceeded
from generations.dashboard import setup
from generations.lifecycle import pipeline, services
from generations.models import Generation
from generations.providers import InvalidRequest
from generations.providers.registry import REGISTRY, get_provider

# Testing a provider spends credits on it like changing its config would
# change every image: the same permission.
TEST_PERMISSION = "generations.change_providerconfig"


def _staff_only(request) -> None:
    """Who is not staff learns nothing here: 403, not the admin's login page."""
    if not request.user.is_staff:
        raise PermissionDenied(_("Only staff see the setup checklist."))


@login_required
def setup_page(request):
    _staff_only(request)
    rows = setup.checklist()
    tested = _tested(request)
    return render(
        request,
        "staff/setup.html",
        {
            "rows": rows,
            "only_demo": setup.only_demo(rows),
            "can_test": request.user.has_perm(TEST_PERMISSION),
            "docs_url": settings.DOCS_URL,
            "tested": tested,
        },
    )


def _tested(request) -> Generation | None:
    """The test image named by `?tested=`, if it is this user's own."""
    try:
        pk = uuid.UUID(request.GET.get("tested", ""))
    except ValueError:
        return None
    return Generation.objects.owned_by(request.user).filter(pk=pk).first()


@login_required
@require_POST
def setup_test(request, name: str):
    """Make one image through provider `name`, then show the checklist with it."""
    _staff_only(request)
    if not request.user.has_perm(TEST_PERMISSION):
        raise PermissionDenied(_("Testing a provider needs the permission to change provider configs."))
    if name not in REGISTRY:
        raise Http404("No such provider.")
    width, height = (get_provider(name).capabilities.presets or ((1024, 1024),))[0]
    try:
        generation = services.generation_create(
            user=request.user,
            prompt=_(setup.TEST_PROMPT),
            width=width,
            height=height,
            provider=name,
            claim=True,
            via="setup",
        )
    except InvalidRequest as exc:
        messages.error(request, exc.message)
        return redirect(reverse("staff_setup") + f"#provider-{name}")
    except (InsufficientCredits, LimitExceeded) as exc:
        messages.error(request, str(exc))
        return redirect(reverse("staff_setup") + f"#provider-{name}")
    pipeline.generation_run_now(generation=generation)
    return redirect(reverse("staff_setup") + f"?tested={generation.pk}#provider-{name}")
