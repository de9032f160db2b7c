"""Forms for the customised admin: every change carries a reason."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from generations.models import CreditAccount, PriceRule, ProviderConfig, ProviderRoute, Team
from generations.providers.registry import REGISTRY

REASON_HELP = _("Why you make this change; it goes in the audit log (and the ledger for credits).")


def provider_choices():
    return [(name, name) for name in REGISTRY]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, help_text=REASON_HELP)


class AmountForm(ReasonForm):
    amount = forms.IntegerField(label=_("Amount"), min_value=1, help_text=_("Credits, a positive number."))
    field_order = ["amount", "reason"]


class AllowanceForm(ReasonForm):
    monthly_allowance = forms.IntegerField(
        label=_("Monthly allowance"),
        min_value=0,
        help_text=_(
            "Credits granted at each month's start (0 = none). The current "
            "month's allowance is granted by the next periodic run if not granted yet."
        ),
    )
    carry_over = forms.BooleanField(
        label=_("Carry over"),
        required=False,
        initial=True,
        help_text=_("Keep unused allowance; unticked, it expires when the month ends."),
    )
    field_order = ["monthly_allowance", "carry_over", "reason"]


class AccountLimitsForm(forms.ModelForm):
    allowed_providers = forms.MultipleChoiceField(
        label=_("Allowed providers"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked = every provider."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, help_text=REASON_HELP)

    class Meta:
        model = CreditAccount
        fields = (*CreditAccount.NO_LIMIT, "low_balance_threshold")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "allowed_providers" in self.fields:  # read-only on a team's pool
            self.fields["allowed_providers"].choices = provider_choices()


class PriceRuleForm(forms.ModelForm):
    provider = forms.ChoiceField(required=False, help_text="Empty = any provider without rules of its own.")
    reason = forms.CharField(max_length=300, help_text=REASON_HELP)

    class Meta:
        model = PriceRule
        fields = ("provider", "max_megapixels", "credits", "prompt_extend_surcharge", "provider_cost")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [("", "any provider"), *provider_choices()]


class ProviderConfigForm(forms.ModelForm):
    name = forms.ChoiceField()
    base_url = forms.URLField(
        required=False, assume_scheme="https", help_text="Overrides <PROVIDER>_BASE_URL"
    )
    reason = forms.CharField(max_length=300, help_text=REASON_HELP)

    class Meta:
        model = ProviderConfig
        fields = (
            "name",
            "enabled",
            "is_default",
            "base_url",
            "region",
            "api_key_env",
            "model_name",
            "timeout_s",
            "max_concurrency",
            "internal",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].choices = provider_choices()


class TeamForm(forms.ModelForm):
    reason = forms.CharField(max_length=300, help_text=REASON_HELP)

    class Meta:
        model = Team
        fields = ("name", "draw_order", "member_defaults")

    def clean_member_defaults(self):
        """Only the limits a member's account has, each valid for that field."""
        defaults = self.cleaned_data.get("member_defaults") or {}
        if not isinstance(defaults, dict):
            raise forms.ValidationError('A JSON object, e.g. {"max_concurrent": 2}.')
        allowed = (*CreditAccount.NO_LIMIT, "monthly_allowance")
        unknown = sorted(set(defaults) - set(allowed))
        if unknown:
            raise forms.ValidationError(f"Unknown: {', '.join(unknown)}. Allowed: {', '.join(allowed)}.")
        probe = CreditAccount(**defaults)
        try:
            probe.clean_fields(exclude=[f.name for f in CreditAccount._meta.fields if f.name not in defaults])
        except ValidationError as error:
            raise forms.ValidationError(
                "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in error.message_dict.items())
            ) from error
        return defaults


class ProviderRouteForm(forms.ModelForm):
    reason = forms.CharField(max_length=300, help_text=REASON_HELP)

    class Meta:
        model = ProviderRoute
        fields = ("name", "providers", "enabled")
