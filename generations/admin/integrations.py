"""API tokens and webhook deliveries: visible to admins, never their secrets."""

from django.contrib import admin

from generations.api import tokens
from generations.billing.audit import audit_record
from generations.models import ApiToken, WebhookDelivery


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their owners; admins see and revoke them, never their
    value. Nothing is edited: clearing `revoked_at` or `expires_at` would bring
    a revoked token back or lift its lifetime, so revoking is an action."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    search_fields = ("name", "user__username", "prefix")
    fields = readonly_fields = (
        "user",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(permissions=["change"], description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        live = list(queryset.filter(revoked_at=None))
        for token in live:
            tokens.api_token_revoke(token=token)
            audit_record(
                actor=request.user,
                obj=token,
                action="revoke token",
                before={"revoked_at": None},
                after={"revoked_at": "now"},
                reason="revoked in the admin",
            )
        self.message_user(request, f"{len(live)} token(s) revoked.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "generation",
        "url",
        "attempts",
        "last_status",
        "delivered_at",
        "gave_up_at",
    )
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False
