"""The admin's user page, with the user's credits: their account (made with the
user, `ledger.account_open`) linked from the list and the change page, where
staff grant credits, and their team if they are in one."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

User = get_user_model()


class UserWithCreditsAdmin(UserAdmin):
    list_display = (*UserAdmin.list_display, "credits")
    list_select_related = ("credit_account",)
    readonly_fields = (*UserAdmin.readonly_fields, "credits", "team")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # the add form: the account is made with the user
            return fieldsets
        return (*fieldsets, (_("Credits"), {"fields": ("credits", "team")}))

    @admin.display(description=_("credits"))
    def credits(self, obj):
        """A link to the account, where the grant and deduct actions are; shown
        to whoever may see accounts (the account page checks it again)."""
        account = getattr(obj, "credit_account", None)
        if account is None:
            return "—"
        url = reverse("admin:generations_creditaccount_change", args=[account.pk])
        return format_html('<a href="{}">{} ({} held)</a>', url, account.balance, account.held)

    @admin.display(description=_("team"))
    def team(self, obj):
        membership = getattr(obj, "team_membership", None)
        if membership is None:
            return "—"
        url = reverse("admin:generations_team_change", args=[membership.team_id])
        role = _("admin") if membership.is_admin else _("member")
        return format_html('<a href="{}">{}</a> ({})', url, membership.team, role)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, UserWithCreditsAdmin)
