"""Generations, prompts and the ledger's entries: read-only where the site owns the data."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList

from generations.models import Batch, CreditEntry, Generation, Prompt


class BoundedDatesChangeList(ChangeList):
    """Django's list page, answering a date drill-down past the calendar's end
    (`?created_at__year=9999&created_at__month=12&created_at__day=31`) with its
    "incorrect lookup" page instead of a 500: Django catches a bad date but not
    the overflow of the day after the last one."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class BoundedDates:
    """For a ModelAdmin with a `date_hierarchy`."""

    def get_changelist(self, request, **kwargs):
        return BoundedDatesChangeList


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records nobody edits by hand: the ledger and the audit log."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Generation)
class GenerationAdmin(BoundedDates, admin.ModelAdmin):
    list_display = (
        "created_at",
        "owner",
        "short_prompt",
        "provider",
        "size",
        "status",
        "credits_cost",
        "provider_price",
        "error_code",
    )
    list_filter = ("status", "provider", "prompt_extend")
    search_fields = ("prompt", "owner__username", "request_id", "id", "batch__id")
    date_hierarchy = "created_at"
    list_select_related = ("owner",)
    readonly_fields = [f.name for f in Generation._meta.fields]

    def has_delete_permission(self, request, obj=None):
        """Never from the admin: deleting the row would strand a hold in the
        ledger (its entries keep no generation) and leave the files. Owners
        cancel, trash and purge through the lifecycle, which settles both."""
        return False

    @admin.display(description="prompt")
    def short_prompt(self, obj):
        return obj.prompt[:60]

    def has_add_permission(self, request):
        return False  # generations are created through the site, which holds credits


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    """Batches are made and canceled through the site, which holds and refunds
    their credits; staff look, and follow a batch to its images."""

    list_display = ("created_at", "owner", "name", "images")
    search_fields = ("name", "owner__username", "id")
    list_select_related = ("owner",)

    @admin.display(description="images")
    def images(self, obj):
        return obj.generations.count()


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account", "kind", "amount", "generation", "actor", "note")
    list_filter = ("kind",)
    search_fields = ("account__user__username", "account__team__name", "note")
    list_select_related = ("account__user", "account__team", "actor")


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ("owner", "title", "updated_at")
    search_fields = ("title", "text", "owner__username")
