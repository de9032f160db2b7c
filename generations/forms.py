import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .providers.registry import available_providers, default_provider_name

SIZE_RE = re.compile(r"^\s*(\d{2,5})\s*[x*×]\s*(\d{2,5})\s*$")


def parse_size(value: str) -> tuple[int, int]:
    match = SIZE_RE.match(value or "")
    if not match:
        raise forms.ValidationError(_("Size must look like 1024x1024 (width x height)."))
    return int(match[1]), int(match[2])


class GenerateForm(forms.Form):
    prompt = forms.CharField(label=_("Prompt"), widget=forms.Textarea(attrs={"rows": 4}))
    provider = forms.ChoiceField(label=_("Provider"))
    size = forms.CharField(label=_("Size"), initial="1024x1024")
    seed = forms.IntegerField(label=_("Seed"), required=False, min_value=0,
                              help_text=_("Empty for a random seed"))
    prompt_extend = forms.BooleanField(label=_("Rewrite my prompt (prompt_extend)"),
                                       required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [(p.name, p.label) for p in available_providers()]
        self.fields["provider"].initial = default_provider_name()

    def clean_size(self):
        return parse_size(self.cleaned_data["size"])
