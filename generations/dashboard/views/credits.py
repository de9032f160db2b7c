"""The credits page: what the user can spend (own and pool), allowance,
ledger and 30-day usage."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from generations.billing import quotas, spendable, usage


@login_required
def credits_page(request):
    wallet = spendable.spendable_for(request.user)
    account = wallet.own
    entries = spendable.entries_for(request.user, wallet)
    ledger = Paginator(entries, 25).get_page(request.GET.get("page"))
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
        },
    )
