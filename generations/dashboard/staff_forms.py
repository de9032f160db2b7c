"""Forms of the staff pages: the usage report's filter and a team admin's
limits for one member."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from generations.billing.quotas import period_start
from generations.billing.reports import BUCKETS, GROUPS, Window
from generations.dashboard.forms import DateField
from generations.models import CreditAccount, TeamMembership

# What the report's groups and periods are called on the page; the URL and
# the CSV keep the keys of reports.GROUPS and reports.BUCKETS.
GROUP_NAMES = {"user": _lazy("user"), "team": _lazy("team"), "provider": _lazy("provider")}
BUCKET_NAMES = {"day": _lazy("day"), "month": _lazy("month")}
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class UsageFilterForm(forms.Form):
    start = DateField(required=False, label=_lazy("From"), widget=DATE_INPUT)
    end = DateField(required=False, label=_lazy("To (inclusive)"), widget=DATE_INPUT)
    group = forms.ChoiceField(
        choices=[(g, GROUP_NAMES[g]) for g in GROUPS], required=False, label=_lazy("Per")
    )
    bucket = forms.ChoiceField(
        choices=[(b, BUCKET_NAMES[b]) for b in BUCKETS], required=False, label=_lazy("By")
    )

    def window(self) -> Window:
        """The chosen window; this month per user and day when nothing (valid) was chosen."""
        data = self.cleaned_data if self.is_valid() else {}
        today = timezone.localdate()
        return Window(
            start=data.get("start") or period_start().date(),
            end=data.get("end") or today,
            group=data.get("group") or "user",
            bucket=data.get("bucket") or "day",
        )


# The counted limits of CreditAccount.NO_LIMIT (0 = no limit), in its order;
# which providers an account may use stays a site admin's choice.
LIMIT_FIELDS = tuple(name for name, none in CreditAccount.NO_LIMIT.items() if none == 0)


class MemberLimitsForm(forms.ModelForm):
    """What a team admin may change for a member of their own team: never
    their own limits nor another team admin's (a site admin sets those), and
    never beyond the caps a site admin put on them or on the team. Where a
    cap exists, 0 ("no limit") is beyond it."""

    reason = forms.CharField(
        max_length=300, label=_lazy("Reason"), help_text=_lazy("Why; it goes in the audit log.")
    )

    class Meta:
        model = CreditAccount
        fields = LIMIT_FIELDS
        labels = {
            "max_concurrent": _lazy("Generations at once"),
            "max_per_minute": _lazy("Generations per minute"),
            "period_limit": _lazy("Credits per month"),
        }

    def __init__(self, *args, editor, caps: dict[str, tuple[int, str]], **kwargs):
        """`caps`: `member_caps(...)` for the editing team admin."""
        super().__init__(*args, **kwargs)
        self.editor = editor
        self.caps = caps
        for name, (cap, _source) in self.caps.items():
            self.fields[name].help_text = _("At most %(cap)s (0 = no limit is not allowed).") % {"cap": cap}

    def clean(self):
        cleaned = super().clean()
        member = self.instance.user
        if member == self.editor:
            raise forms.ValidationError(
                _("You cannot change your own limits; a site admin sets them."), code="own"
            )
        if TeamMembership.objects.filter(user=member, is_admin=True).exists():
            raise forms.ValidationError(
                _("%(user)s is a team admin: a site admin sets their limits.") % {"user": member},
                code="team_admin",
            )
        for name, (cap, source) in self.member_caps().items():
            value = cleaned.get(name)
            if value is not None and (not value or value > cap):
                self.add_error(name, _cap_message(self.fields[name].label, cap, source))
        return cleaned

    def member_caps(self) -> dict[str, tuple[int, str]]:
        """The editor's caps, lowered to what a site admin set on this member."""
        caps = dict(self.caps)
        for name, cap in self.instance.staff_limits.items():
            if name in LIMIT_FIELDS and cap and (name not in caps or cap < caps[name][0]):
                caps[name] = (cap, "member")
        return caps


def member_caps(*, editor_account: CreditAccount, pool: CreditAccount) -> dict[str, tuple[int, str]]:
    """For each limit a site admin capped, (the cap, "own" or "team"): the
    team admin's own limits, and the team's monthly allowance for spending."""
    caps = {
        name: (getattr(editor_account, name), "own") for name in LIMIT_FIELDS if getattr(editor_account, name)
    }
    budget = pool.monthly_allowance
    if budget and ("period_limit" not in caps or budget < caps["period_limit"][0]):
        caps["period_limit"] = (budget, "team")
    return caps


def _cap_message(label, cap: int, source: str) -> str:
    if source == "member":
        text = _(
            "%(field)s: at most %(cap)s, the limit a site admin set on this member; "
            "0 (no limit) is not allowed."
        )
    elif source == "team":
        text = _("%(field)s: at most %(cap)s, the team's monthly allowance; 0 (no limit) is not allowed.")
    else:
        text = _(
            "%(field)s: at most %(cap)s, the limit a site admin set on your own account; "
            "0 (no limit) is not allowed."
        )
    return text % {"field": label, "cap": cap}
