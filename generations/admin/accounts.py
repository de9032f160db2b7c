"""Credit accounts (a user's or a team's pool) and teams.

Balances change only through the actions here (grant, deduct), which write a
ledger entry and an audit record; limits are edited on the change page, with a
reason, and audited too. Every action declares the permission it needs: the
ones that move credits (grant, deduct, allowance) the model's own
`grant_credits`, which `change_creditaccount` does not include."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from generations.admin.actions import form_action
from generations.admin.forms import AccountLimitsForm, AllowanceForm, AmountForm, ReasonForm, TeamForm
from generations.billing import ledger, quotas
from generations.billing.audit import audit_record, audited_save
from generations.models import CreditAccount, CreditEntry, Team, TeamMembership

GRANT_CREDITS = "grant_credits"  # CreditAccount's Meta.permissions


class CreditEntryInline(admin.TabularInline):
    model = CreditEntry
    fields = ("created_at", "kind", "amount", "generation", "actor", "note")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-created_at", "-id")
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    form = AccountLimitsForm
    list_display = (
        "owner_label",
        "balance",
        "held",
        "monthly_allowance",
        "carry_over",
        *CreditAccount.NO_LIMIT,
        "frozen",
    )
    list_filter = ("frozen", "carry_over", ("team", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "user__email", "team__name")
    readonly_fields = ("user", "team", "balance", "held", "monthly_allowance", "carry_over", "frozen")
    inlines = [CreditEntryInline]
    list_select_related = ("user", "team")
    actions = ["grant_credits", "deduct_credits", "set_allowance", "freeze", "unfreeze"]

    def has_add_permission(self, request):
        return False  # accounts appear with their user or team

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and obj.team_id:
            # A pool's budget is its allowance; per-user limits apply to the members.
            return (*fields, *CreditAccount.NO_LIMIT)
        return fields

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger keeps them

    def save_model(self, request, obj, form, change):
        edits = AccountLimitsForm.Meta.fields  # the limits and the low-balance threshold
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in edits}
        if any(name in CreditAccount.NO_LIMIT for name in changes):  # what team admins stay within
            changes["staff_limits"] = {
                name: form.cleaned_data.get(name, getattr(obj, name))
                for name, none in CreditAccount.NO_LIMIT.items()
                if none == 0 and form.cleaned_data.get(name, getattr(obj, name))
            }
        if changes:
            quotas.account_update(
                account=obj,
                actor=request.user,
                action="set limits",
                reason=form.cleaned_data["reason"],
                **changes,
            )

    def has_grant_credits_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.{GRANT_CREDITS}")

    @admin.action(description=_lazy("Grant credits to the selected accounts"), permissions=[GRANT_CREDITS])
    def grant_credits(self, request, queryset):
        return form_action(
            self,
            request,
            queryset,
            form_class=AmountForm,
            title=_("Grant credits"),
            apply=lambda account, data: quotas.account_grant(
                account=account, amount=data["amount"], actor=request.user, reason=data["reason"]
            ),
        )

    @admin.action(description=_lazy("Deduct credits from the selected accounts"), permissions=[GRANT_CREDITS])
    def deduct_credits(self, request, queryset):
        return form_action(
            self,
            request,
            queryset,
            form_class=AmountForm,
            title=_("Deduct credits"),
            apply=lambda account, data: quotas.account_grant(
                account=account, amount=-data["amount"], actor=request.user, reason=data["reason"]
            ),
        )

    @admin.action(description=_lazy("Set the monthly allowance"), permissions=[GRANT_CREDITS])
    def set_allowance(self, request, queryset):
        return form_action(
            self,
            request,
            queryset,
            form_class=AllowanceForm,
            title=_("Set monthly allowance"),
            apply=lambda account, data: quotas.account_update(
                account=account,
                actor=request.user,
                action="set allowance",
                reason=data["reason"],
                monthly_allowance=data["monthly_allowance"],
                carry_over=data["carry_over"],
            ),
        )

    @admin.action(description=_lazy("Freeze: no new generations"), permissions=["change"])
    def freeze(self, request, queryset):
        return self._set_frozen(request, queryset, frozen=True)

    @admin.action(description=_lazy("Unfreeze"), permissions=["change"])
    def unfreeze(self, request, queryset):
        return self._set_frozen(request, queryset, frozen=False)

    def _set_frozen(self, request, queryset, *, frozen: bool):
        return form_action(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title=_("Freeze accounts") if frozen else _("Unfreeze accounts"),
            apply=lambda account, data: quotas.account_update(
                account=account,
                actor=request.user,
                reason=data["reason"],
                action="freeze" if frozen else "unfreeze",
                frozen=frozen,
            ),
        )


class TeamMembershipInline(admin.TabularInline):
    """Who belongs to a team decides who spends its pool, and its admins who
    set limits: changing it needs the credit permission too (audited by
    TeamAdmin.save_related)."""

    model = TeamMembership
    fields = ("user", "is_admin")
    autocomplete_fields = ("user",)
    extra = 1

    def _moves_credits(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{GRANT_CREDITS}")

    def has_add_permission(self, request, obj=None):
        return self._moves_credits(request) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._moves_credits(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._moves_credits(request) and super().has_delete_permission(request, obj)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamForm
    list_display = ("name", "draw_order", "members", "pool")
    search_fields = ("name",)
    fields = ("name", "draw_order", "member_defaults", "reason", "pool", "created_at")
    readonly_fields = ("pool", "created_at")
    inlines = [TeamMembershipInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("credit_account")
            .annotate(member_count=Count("memberships"))
        )

    @admin.display(ordering="member_count")
    def members(self, obj):
        return obj.member_count

    @admin.display(description="credit pool")
    def pool(self, obj):
        account = getattr(obj, "credit_account", None)
        if account is None:
            return "created when the team is saved"
        url = reverse("admin:generations_creditaccount_change", args=[account.pk])
        return format_html('<a href="{}">{} credits</a>', url, account.balance)

    def save_model(self, request, obj, form, change):
        # The draw order decides which credits pay: audited like the limits.
        audited_save(obj=obj, actor=request.user, reason=form.cleaned_data["reason"])
        ledger.team_account(obj)  # the pool exists from the start, empty

    def save_related(self, request, form, formsets, change):
        """Membership changes go in the audit log with the form's reason."""
        before = _members(form.instance)
        super().save_related(request, form, formsets, change)
        after = _members(form.instance)
        if after != before:
            audit_record(
                actor=request.user,
                obj=form.instance,
                action="team members",
                before={"members": before},
                after={"members": after},
                reason=form.cleaned_data["reason"],
            )


def _members(team: Team) -> list[str]:
    """`username` or `username (admin)`, sorted."""
    rows = team.memberships.select_related("user").order_by("user__username") if team.pk else []
    return [f"{m.user.username}{' (admin)' if m.is_admin else ''}" for m in rows]
