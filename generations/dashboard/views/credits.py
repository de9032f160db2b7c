"""The credits page: what the user can spend (own and pool), allowance,
ledger, 30-day usage and their credit requests; and the page where a team
admin or a site admin answers requests."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from generations.billing import credit_requests, quotas, spendable, teams, usage
from generations.dashboard.forms import CreditRequestForm
from generations.dashboard.ledger_view import ledger_fold, ledger_lines
from generations.models import CreditRequest, TeamMembership

RECENT_REQUESTS = 10


@login_required
def credits_page(request, request_form=None, status=200):
    wallet = spendable.spendable_for(request.user)
    account = wallet.own
    entries = spendable.entries_for(request.user, wallet)
    ledger = Paginator(ledger_lines(entries), 25).get_page(request.GET.get("page"))
    ledger_fold(ledger, entries)
    bars = usage.daily_usage(user=request.user)
    return render(
        request,
        "generations/credits.html",
        {
            "account": account,
            "wallet": wallet,
            "next_reset": quotas.allowance_resets_at(account),
            "ledger": ledger,
            "bars": bars,
            "chart_w": usage.CHART_W,
            "chart_h": usage.CHART_H,
            "month_total": sum(bar.total for bar in bars),
            "request_form": request_form or CreditRequestForm(),
            "requests": CreditRequest.objects.owned_by(request.user).select_related("decided_by")[
                :RECENT_REQUESTS
            ],
            "team_admins": ", ".join(u.get_username() for u in teams.team_admins_of(request.user)),
        },
        status=status,
    )


@login_required
@require_POST
def credit_request(request):
    """Ask for credits; a problem is shown on the form, nothing typed is lost."""
    form = CreditRequestForm(request.POST)
    if form.is_valid():
        try:
            credit_requests.credit_request_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Request sent. You will be told here when it is answered."))
            return redirect("credits")
    return credits_page(request, request_form=form, status=400)


def _may_open_queue(user) -> bool:
    """Site admins who may grant or view requests, and team admins."""
    staff = user.is_staff and (
        user.has_perm(credit_requests.GRANT_PERMISSION) or user.has_perm(credit_requests.VIEW_PERMISSION)
    )
    return staff or TeamMembership.objects.filter(user=user, is_admin=True).exists()


@login_required
def credit_request_queue(request):
    """Pending requests, each with Approve and Decline where the user may answer it."""
    if not _may_open_queue(request.user):
        raise PermissionDenied(_("Only team admins and site admins answer credit requests."))
    pending = list(credit_requests.decidable_by(request.user))
    rows = [(r, credit_requests.may_decide(request.user, r)) for r in pending]
    return render(request, "generations/credit_requests.html", {"rows": rows})


@login_required
@require_POST
def credit_request_answer(request, pk, answer):
    """One click: approve (a grant, or from the pool for a team admin) or decline."""
    if answer not in ("approve", "decline"):
        raise Http404
    approve = answer == "approve"
    try:
        done = credit_requests.credit_request_decide(request_id=pk, actor=request.user, approve=approve)
    except CreditRequest.DoesNotExist as exc:
        raise PermissionDenied(_("You may not answer this request.")) from exc
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        said = _("Approved: %(n)s credits to %(user)s.") if approve else _("Declined the request of %(who)s.")
        messages.success(request, said % {"n": done.amount, "user": done.requester, "who": done.requester})
    return redirect("credit_requests")
