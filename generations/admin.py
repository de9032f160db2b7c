from django import forms
from django.contrib import admin, messages

from . import credits
from .models import (
    ApiToken,
    CreditAccount,
    CreditEntry,
    Generation,
    Prompt,
    ProviderConfig,
    WebhookDelivery,
)


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "owner", "short_prompt", "provider", "size", "status",
                    "credits_cost", "error_code")
    list_filter = ("status", "provider", "prompt_extend")
    search_fields = ("prompt", "owner__username", "request_id", "id")
    date_hierarchy = "created_at"
    list_select_related = ("owner",)
    readonly_fields = [f.name for f in Generation._meta.fields]

    @admin.display(description="prompt")
    def short_prompt(self, obj):
        return obj.prompt[:60]

    def has_add_permission(self, request):
        return False  # generations are created through the site, which holds credits


class CreditAccountForm(forms.ModelForm):
    grant_amount = forms.IntegerField(
        required=False, help_text="Credits to add (negative to deduct). Writes a ledger entry.")
    grant_reason = forms.CharField(required=False, max_length=300)

    class Meta:
        model = CreditAccount
        fields = ("max_concurrent",)

    def clean(self):
        data = super().clean()
        if data.get("grant_amount") and not (data.get("grant_reason") or "").strip():
            self.add_error("grant_reason", "Give a reason for the change; it goes in the ledger.")
        return data


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
    form = CreditAccountForm
    list_display = ("user", "balance", "held", "max_concurrent", "updated_at")
    search_fields = ("user__username", "user__email")
    readonly_fields = ("user", "balance", "held")
    inlines = [CreditEntryInline]
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False  # accounts appear with their user

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        amount = form.cleaned_data.get("grant_amount")
        if amount:
            try:
                credits.adjust(user=obj.user, amount=amount, actor=request.user,
                               note=form.cleaned_data["grant_reason"])
            except credits.InsufficientCredits as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, f"{amount:+d} credits for {obj.user}.")


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "account", "kind", "amount", "generation", "actor", "note")
    list_filter = ("kind",)
    search_fields = ("account__user__username", "note")
    list_select_related = ("account__user", "actor")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProviderConfig)
class ProviderConfigAdmin(admin.ModelAdmin):
    list_display = ("name", "enabled", "is_default", "base_url", "region", "api_key_env")


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ("owner", "title", "updated_at")
    search_fields = ("title", "text", "owner__username")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their owners; admins see and revoke them, never their value."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at",
                    "revoked_at")
    search_fields = ("name", "user__username", "prefix")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at")

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "generation", "url", "attempts", "last_status", "delivered_at",
                    "gave_up_at")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False
