"""Forms of the staff pages: the usage report's filter and a team admin's
limits for one member."""

from django import forms
from django.utils import timezone

from .forms import DateField
from .models import CreditAccount
from .quotas import period_start
from .reports import BUCKETS, GROUPS, Window


class UsageFilterForm(forms.Form):
    start = DateField(required=False, label="From")
    end = DateField(required=False, label="To (inclusive)")
    group = forms.ChoiceField(choices=[(g, g) for g in GROUPS], required=False, label="Per")
    bucket = forms.ChoiceField(choices=[(b, b) for b in BUCKETS], required=False, label="By")

    def window(self) -> Window:
        """The chosen window; this month per user and day when nothing (valid) was chosen."""
        data = self.cleaned_data if self.is_valid() else {}
        today = timezone.localdate()
        return Window(start=data.get("start") or period_start().date(),
                      end=data.get("end") or today, group=data.get("group") or "user",
                      bucket=data.get("bucket") or "day")


class MemberLimitsForm(forms.ModelForm):
    """What a team admin may change for a member of their own team."""

    reason = forms.CharField(max_length=300, help_text="Why; it goes in the audit log.")

    class Meta:
        model = CreditAccount
        fields = ("max_concurrent", "max_per_minute", "period_limit")

    def __init__(self, *args, pool: CreditAccount, **kwargs):
        super().__init__(*args, **kwargs)
        self.pool = pool

    def clean_period_limit(self):
        """Within the team's pool: no member may be allowed more a month than
        the team itself is given."""
        limit = self.cleaned_data["period_limit"]
        budget = self.pool.monthly_allowance
        if budget and (not limit or limit > budget):
            raise forms.ValidationError(
                f"Set a monthly limit of at most the team's allowance, {budget} credits.")
        return limit
