"""Staff pages: the usage report (and its CSV), providers' health, and the team admin's page.

Each declares who may open it: the report (every user's generations) needs
staff status and the permission to view generations; the team page is for a
team's admins, within the bounds in `staff_forms.MemberLimitsForm`."""

import csv
from functools import partial

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from generations.accounts import invitations
from generations.accounts.forms import InviteForm
from generations.billing import credit_requests, ledger, quotas, reports
from generations.dashboard import charts
from generations.dashboard.staff_forms import (
    BUCKET_NAMES,
    GROUP_NAMES,
    MemberLimitsForm,
    UsageFilterForm,
    member_caps,
)
from generations.lifecycle import routes
from generations.lifecycle.health import providers_health
from generations.models import CreditAccount, TeamMembership
from generations.providers.registry import provider_status

# Reports read Generation rows only: seeing them is what the report needs.
REPORT_PERMISSION = "generations.view_generation"


# The providers page shows settings and health, not any user's data.
PROVIDERS_PERMISSION = "generations.view_providerconfig"


@staff_member_required
@permission_required(PROVIDERS_PERMISSION, raise_exception=True)
def providers(request):
    """Every provider's health (circuit, error rate, latency over the last
    15 minutes) and where its key comes from; the routes and their order."""
    rows = provider_status()
    health = providers_health([provider.name for provider, _reason in rows])
    return render(
        request,
        "staff/providers.html",
        {
            "providers": [
                {
                    "name": provider.name,
                    "label": provider.label,
                    "reason": reason,
                    "key_source": provider.settings.api_key_source,
                    "health": health[provider.name],
                }
                for provider, reason in rows
            ],
            "routes": [
                {"name": name, "providers": [p.name for p in routes.route_providers(name)]}
                for name in routes.route_names()
            ],
        },
    )


@staff_member_required
@permission_required(REPORT_PERMISSION, raise_exception=True)
def usage(request):
    form = UsageFilterForm(request.GET or None)
    window = form.window()
    return render(
        request,
        "staff/usage.html",
        {
            "form": form,
            "window": window,
            "rows": reports.usage_rows(window),
            "totals": reports.usage_totals(window),
            "top_users": reports.top_users(window),
            "failures": reports.failure_rates(window),
            "calls": reports.provider_calls(window),
            "errors": reports.error_codes(window),
            "chart": charts.bar_chart(reports.daily_credits(window), label=_("Credits spent per day")),
            "group_name": GROUP_NAMES[window.group],
            "bucket_name": BUCKET_NAMES[window.bucket],
            "query": request.GET.urlencode(),
        },
    )


@staff_member_required
@permission_required(REPORT_PERMISSION, raise_exception=True)
def usage_csv(request):
    form = UsageFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():  # a file of another window would mislead
        errors = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in form.errors.items())
        return HttpResponse(
            f"Invalid filter: {errors}\n", status=400, content_type="text/plain; charset=utf-8"
        )
    window = form.window()
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = (
        f'attachment; filename="usage-{window.start}-{window.end}-{window.group}.csv"'
    )
    writer = csv.DictWriter(response, fieldnames=reports.COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in reports.usage_rows(window):
        writer.writerow({**row, "period": row["period"].date().isoformat()})
    return response


@login_required
def team(request):
    """A team admin (no staff rights needed) sets their members' limits, within
    the caps a site admin set; their own and other team admins' are shown, not
    editable."""
    membership = (
        TeamMembership.objects.select_related("team").filter(user=request.user, is_admin=True).first()
    )
    if membership is None:
        raise PermissionDenied("Only a team's admins manage its members.")
    pool = ledger.team_account(membership.team)
    accounts = (
        CreditAccount.objects.filter(user__team_membership__team=membership.team)
        .select_related("user__team_membership")
        .order_by("user__username")
    )
    caps = member_caps(editor_account=ledger.account_for(request.user), pool=pool)
    limits_form = partial(MemberLimitsForm, editor=request.user, caps=caps)
    if request.method == "POST":
        account_id = request.POST.get("account", "")
        account = get_object_or_404(accounts, pk=account_id if account_id.isdigit() else None)
        form = limits_form(request.POST, instance=account)
        if form.is_valid():
            quotas.account_update(
                account=account,
                actor=request.user,
                action="team limits",
                reason=form.cleaned_data["reason"],
                **{f: form.cleaned_data[f] for f in MemberLimitsForm.Meta.fields},
            )
            messages.success(request, _("Limits of %(user)s saved.") % {"user": account.user})
            return redirect("staff_team")
        messages.error(
            request, f"{account.user}: " + " ".join(str(e) for errors in form.errors.values() for e in errors)
        )
    return render(
        request,
        "staff/team.html",
        {
            "team": membership.team,
            "pool": pool,
            "requests_waiting": credit_requests.decidable_by(request.user).count(),
            "invite_form": InviteForm(),
            "invitations": invitations.pending_for_team(membership.team),
            "members": [
                (a, None if a.user.team_membership.is_admin else limits_form(instance=a)) for a in accounts
            ],
        },
    )
