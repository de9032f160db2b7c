"""Members' credit requests, for the record: read-only here. They are answered
on the dashboard's Credit requests page (`billing.credit_requests`), where the
answer is a ledger entry and an audit record."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from generations.admin.core import ReadOnlyAdmin
from generations.models import CreditRequest


@admin.register(CreditRequest)
class CreditRequestAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "requester", "team", "amount", "reason", "state", "decided_by", "from_pool")
    list_filter = ("state", "from_pool")
    search_fields = ("requester__username", "reason", "team__name")
    list_select_related = ("requester", "team", "decided_by")
    readonly_fields = ("answer_here",)

    @admin.display(description="answer")
    def answer_here(self, obj):
        return format_html('<a href="{}">Credit requests page</a>', reverse("credit_requests"))
