"""The credits page: balance, allowance, ledger and 30-day usage."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from generations.billing import ledger as credits
from generations.billing import quotas, usage
from generations.dashboard.ledger_view import ledger_fold, ledger_lines
from generations.models import CreditEntry


@login_required
def credits_page(request):
    account = credits.account_for(request.user)
    entries = CreditEntry.objects.filter(account=account).select_related("generation")
    ledger = Paginator(ledger_lines(entries), 25).get_page(request.GET.get("page"))
    ledger_fold(ledger, entries)
    bars = usage.daily_usage(user=request.user)
    return render(
        request,
        "generations/credits.html",
        {
            "account": account,
            "next_reset": quotas.allowance_resets_at(account),
            "ledger": ledger,
            "bars": bars,
            "chart_w": usage.CHART_W,
            "chart_h": usage.CHART_H,
            "month_total": sum(bar.total for bar in bars),
        },
    )
