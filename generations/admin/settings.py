"""Prices, provider configurations and the audit log. Every save or delete
asks for a reason and is written to the audit log with before and after."""

import json

from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from generations.admin.actions import form_action
from generations.admin.core import BoundedDates, ReadOnlyAdmin
from generations.admin.forms import PriceRuleForm, ProviderConfigForm, ProviderRouteForm, ReasonForm
from generations.billing import quotas
from generations.billing.audit import audited_delete, audited_save
from generations.lifecycle.health import providers_health
from generations.models import AuditLog, PriceRule, ProviderConfig, ProviderRoute
from generations.providers.registry import get_provider


class AuditedAdmin(admin.ModelAdmin):
    """Saves through the audit log; deleting is an action that asks why."""

    actions = ["delete_with_reason"]

    def save_model(self, request, obj, form, change):
        audited_save(obj=obj, actor=request.user, reason=form.cleaned_data["reason"])

    def has_delete_permission(self, request, obj=None):
        return False  # the stock delete has no reason: use the action

    def has_delete_with_reason_permission(self, request):
        """The model's delete permission, which `has_delete_permission` hides
        from the stock delete."""
        codename = get_permission_codename("delete", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    @admin.action(
        description="Delete the selected rows (asks for a reason)", permissions=["delete_with_reason"]
    )
    def delete_with_reason(self, request, queryset):
        return form_action(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title="Delete",
            apply=lambda obj, data: audited_delete(obj=obj, actor=request.user, reason=data["reason"]),
        )


@admin.register(PriceRule)
class PriceRuleAdmin(AuditedAdmin):
    form = PriceRuleForm
    list_display = (
        "provider_label",
        "max_megapixels",
        "credits",
        "prompt_extend_surcharge",
        "provider_cost",
        "updated_at",
    )
    list_filter = ("provider",)

    @admin.display(description="provider", ordering="provider")
    def provider_label(self, obj):
        return obj.provider or "any provider"


@admin.register(ProviderConfig)
class ProviderConfigAdmin(AuditedAdmin):
    form = ProviderConfigForm
    list_display = (
        "name",
        "enabled",
        "is_default",
        "base_url",
        "region",
        "api_key_env",
        "timeout_s",
        "max_concurrency",
        "internal",
    )
    list_filter = ("enabled", "internal")
    readonly_fields = ("key_source", "health")

    def get_list_display(self, request):
        return (*self.list_display, "key_source", "health")

    @admin.display(description=_("key from"))
    def key_source(self, obj):
        """Where the key in use comes from (the environment, the Alibaba Cloud
        credentials file), never the key itself."""
        if obj.pk is None:
            return "-"
        return get_provider(obj.name, obj).settings.api_key_source or _("no key")

    @admin.display(description=_("health (15 min)"))
    def health(self, obj):
        if obj.pk is None:
            return "-"
        h = providers_health([obj.name])[obj.name]
        p50 = "-" if h.latency_p50 is None else f"{h.latency_p50:.2f}s"
        p95 = "-" if h.latency_p95 is None else f"{h.latency_p95:.2f}s"
        return f"{h.status} (circuit {h.circuit}), {h.errors}/{h.calls} failed, p50 {p50}, p95 {p95}"

    def save_model(self, request, obj, form, change):
        quotas.provider_config_save(config=obj, actor=request.user, reason=form.cleaned_data["reason"])


@admin.register(ProviderRoute)
class ProviderRouteAdmin(AuditedAdmin):
    """Routes users ask for by name; `z-image-turbo` replaces the built-in
    default route (every configured provider in preference order)."""

    form = ProviderRouteForm
    list_display = ("name", "providers", "enabled")
    list_filter = ("enabled",)


def audited_object(entry: AuditLog):
    """The object an entry is about, if it still exists (an entry outlives a
    deleted price rule); its model, even then."""
    try:
        model = apps.get_model("generations", entry.object_type)
    except LookupError:
        return None, None
    try:
        return model, model._default_manager.filter(pk=entry.object_id).first()
    except (ValueError, ValidationError):  # an id of another shape: nothing to show
        return model, None


def named(model, values: dict) -> dict:
    """A before/after snapshot with its references named: `"user": "bob (#3)"`
    rather than `"user": 3`."""
    shown = dict(values)
    for field in model._meta.concrete_fields if model else ():
        if field.is_relation and shown.get(field.name) is not None:
            target = field.related_model._default_manager.filter(pk=shown[field.name]).first()
            if target is not None:
                shown[field.name] = f"{target} (#{shown[field.name]})"
    return shown


@admin.register(AuditLog)
class AuditLogAdmin(BoundedDates, ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "object_name", "reason")
    list_filter = ("action", "object_type")
    search_fields = ("reason", "object_id", "actor__username")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    fields = (
        "created_at",
        "actor",
        "action",
        "object_name",
        "reason",
        "before_pretty",
        "after_pretty",
    )
    readonly_fields = fields

    @admin.display(description=_("object"))
    def object_name(self, entry):
        """Its name, linked to its admin page; "(deleted)" when it is gone."""
        model, obj = audited_object(entry)
        if obj is None:
            return format_html("{} #{} ({})", entry.object_type, entry.object_id, _("deleted"))
        url = reverse(f"admin:generations_{model._meta.model_name}_change", args=[obj.pk])
        return format_html(
            '<a href="{}">{}</a> <span class="quiet">{} #{}</span>', url, obj, entry.object_type, obj.pk
        )

    @admin.display(description=_("before"))
    def before_pretty(self, entry):
        before = named(audited_object(entry)[0], entry.before)
        return format_html("<pre>{}</pre>", json.dumps(before, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.display(description=_("after"))
    def after_pretty(self, entry):
        after = named(audited_object(entry)[0], entry.after)
        return format_html("<pre>{}</pre>", json.dumps(after, indent=2, sort_keys=True, ensure_ascii=False))
