import re
from datetime import date

from django import forms
from django.core import validators
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from generations.billing import credit_requests
from generations.lifecycle import library
from generations.models import Collection, Generation, Prompt
from generations.providers.registry import REGISTRY, available_providers

SIZE_RE = re.compile(r"^\s*(\d{2,5})\s*[x*×]\s*(\d{2,5})\s*$")


def parse_size(value: str) -> tuple[int, int]:
    match = SIZE_RE.match(value or "")
    if not match:
        raise forms.ValidationError(_("Size must look like 1024x1024 (width x height)."))
    return int(match[1]), int(match[2])


class DateField(forms.DateField):
    """A date that a query can use: a day before and after it must exist, in
    every time zone (9999-12-31 plus a day overflowed into a 500)."""

    MIN, MAX = date(1900, 1, 1), date(9998, 12, 31)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        message = format_lazy(
            _("Enter a date between {min} and {max}."), min=self.MIN.isoformat(), max=self.MAX.isoformat()
        )
        self.validators += [
            validators.MinValueValidator(self.MIN, message),
            validators.MaxValueValidator(self.MAX, message),
        ]


class GenerateForm(forms.Form):
    SEED_MODES = [("random", _("Random")), ("fixed", _("Fixed")), ("reuse", _("Reuse the last one"))]

    prompt = forms.CharField(label=_("Prompt"), widget=forms.Textarea(attrs={"rows": 4}))
    # Empty: the default route (the first healthy provider, falling back on failure).
    provider = forms.ChoiceField(label=_("Provider"), required=False)
    size = forms.CharField(label=_("Size"), initial="1024x1024")
    width = forms.IntegerField(label=_("Width"), required=False, min_value=1)
    height = forms.IntegerField(label=_("Height"), required=False, min_value=1)
    seed_mode = forms.ChoiceField(label=_("Seed"), choices=SEED_MODES, required=False)
    seed = forms.IntegerField(label=_("Seed value"), required=False, min_value=0)
    prompt_extend = forms.BooleanField(label=_("Rewrite my prompt (prompt_extend)"), required=False)
    saved_prompt = forms.IntegerField(required=False, widget=forms.HiddenInput)
    count = forms.TypedChoiceField(
        label=_("Images per prompt"),
        choices=[(n, str(n)) for n in (1, 2, 4, 8)],
        coerce=int,
        required=False,
        empty_value=1,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        automatic = _("Automatic (falls back to the next provider if one fails)")
        self.fields["provider"].choices = [
            ("", automatic),
            *((p.name, p.label) for p in available_providers()),
        ]
        self.fields["provider"].initial = ""

    def clean(self):
        data = super().clean()
        size = data.get("size") or ""
        try:
            if size == "custom":
                data["width"], data["height"] = parse_size(f"{data.get('width')}x{data.get('height')}")
            elif size:
                data["width"], data["height"] = parse_size(size)
        except forms.ValidationError as exc:
            self.add_error("size", exc)
        data["seed"] = self._seed(data)
        data["saved_prompt"] = (
            Prompt.objects.owned_by(self.user).filter(pk=data.get("saved_prompt")).first()
            if data.get("saved_prompt")
            else None
        )
        return data

    def _seed(self, data):
        # No mode given (an older form, a script): a typed seed means fixed.
        mode = data.get("seed_mode") or ("fixed" if data.get("seed") is not None else "random")
        if mode == "reuse":
            return library.last_seed(user=self.user)
        if mode == "fixed" and data.get("seed") is None:
            self.add_error("seed", _("Type a seed, or choose Random."))
        return data.get("seed") if mode == "fixed" else None


def provider_filter_choices(user) -> list[tuple[str, str]]:
    """The providers a filter offers: those usable now plus any the user has
    images from (a provider since removed from the environment still finds
    its old images), in the registry's order; not every provider there is."""
    used = set(Generation.objects.owned_by(user).order_by().values_list("provider", flat=True).distinct())
    shown = used | {p.name for p in available_providers()}
    known = [(name, REGISTRY[name].label) for name in REGISTRY if name in shown]
    return known + [(name, name) for name in sorted(used - REGISTRY.keys()) if name]


class GalleryFilterForm(forms.Form):
    q = forms.CharField(label=_("Search prompts"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Generation.Status.choices]
    )
    provider = forms.ChoiceField(label=_("Provider"), required=False)
    size = forms.CharField(
        label=_("Size"), required=False, widget=forms.TextInput(attrs={"placeholder": "1024x1024"})
    )
    date_from = DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    tag = forms.CharField(label=_("Tag"), required=False)
    collection = forms.ModelChoiceField(
        label=_("Collection"),
        required=False,
        queryset=Collection.objects.none(),
        empty_label=_("Any collection"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collection"].queryset = Collection.objects.owned_by(user)
        self.fields["provider"].choices = [("", _("Any provider")), *provider_filter_choices(user)]

    def clean_size(self):
        value = self.cleaned_data["size"]
        return parse_size(value) if value else None


class PromptForm(forms.Form):
    title = forms.CharField(label=_("Title"), required=False, max_length=200)
    text = forms.CharField(label=_("Prompt"), widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(label=_("Tags (comma separated)"), required=False)


class CreditRequestForm(forms.Form):
    """A member asks for credits; the limits are the service's (credit_requests)."""

    amount = forms.IntegerField(label=_("Credits"), min_value=1, max_value=credit_requests.MAX_AMOUNT)
    reason = forms.CharField(
        label=_("What for"), max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 40})
    )


class CollectionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)


class TagForm(forms.Form):
    tags = forms.CharField(label=_("Tags (comma separated)"), max_length=300)


class CollectionChoice(forms.Form):
    """One of the user's collections, or the name of a new one."""

    collection = forms.ModelChoiceField(
        label=_("Collection"),
        required=False,
        queryset=Collection.objects.none(),
        empty_label=_("New collection…"),
    )
    new_name = forms.CharField(label=_("New collection name"), required=False, max_length=120)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collection"].queryset = Collection.objects.owned_by(user)

    @staticmethod
    def collection_chosen(data) -> bool:
        return bool(data.get("collection") or (data.get("new_name") or "").strip())


class CollectForm(CollectionChoice):
    def clean(self):
        data = super().clean()
        if not self.collection_chosen(data):
            raise forms.ValidationError(_("Choose a collection or name a new one."))
        return data


class BulkForm(CollectionChoice):
    """One action on the images ticked in the gallery (`ids`, read by the view
    and scoped to the user there)."""

    ACTIONS = [
        ("tag", _("Tag")),
        ("collect", _("Add to collection")),
        ("trash", _("Move to trash")),
        ("zip", _("Download as ZIP")),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    tags = forms.CharField(label=_("Tags (comma separated)"), required=False, max_length=300)
    query = forms.CharField(required=False, widget=forms.HiddenInput)  # the gallery's filters, to go back to

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "tag" and not library.parse_tags(data.get("tags") or ""):
            self.add_error("tags", _("Type the tags to add, separated by commas."))
        if action == "collect" and not self.collection_chosen(data):
            self.add_error("collection", _("Choose a collection or name a new one."))
        return data


class ApiTokenForm(forms.Form):
    # The same bounds as the API's POST /api/v1/tokens/.
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("What uses it, e.g. “laptop script”"))
    expires_days = forms.IntegerField(
        label=_("Expires after (days)"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=_("Leave empty for a token that does not expire"),
    )
