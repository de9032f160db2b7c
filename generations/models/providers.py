"""Provider settings admins keep in the database (never keys: the name of the
environment variable that holds one), and the call slots that cap concurrency."""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class ProviderConfig(models.Model):
    """An admin's settings for one provider. The key itself never lives here:
    `api_key_env` names the environment variable that holds it."""

    name = models.SlugField(max_length=40, unique=True, help_text=_("Registry name, e.g. dashscope"))
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    base_url = models.URLField(blank=True, help_text=_("Overrides <PROVIDER>_BASE_URL"))
    region = models.CharField(max_length=40, blank=True)
    api_key_env = models.CharField(
        max_length=80, blank=True, help_text=_("Name of the environment variable holding the key")
    )
    model_name = models.CharField(max_length=120, blank=True)
    timeout_s = models.PositiveIntegerField(default=120)
    max_concurrency = models.PositiveIntegerField(default=0, help_text=_("0 = unlimited"))
    internal = models.BooleanField(
        default=False, help_text=_("On the private network: image URLs may be private addresses")
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.api_key_env and not looks_like_env_name(self.api_key_env):
            raise ValidationError(
                {
                    "api_key_env": _(
                        "Give the NAME of an environment variable (e.g. DASHSCOPE_API_KEY), never the "
                        "key itself."
                    )
                }
            )


ENV_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,79}$")


def looks_like_env_name(value: str) -> bool:
    """An upper-case identifier with words (`DASHSCOPE_API_KEY`); a pasted key
    (`sk-...`, or a long run of letters and digits) is refused so that it never
    lands in the database."""
    if not ENV_NAME_RE.match(value):
        return False
    digits = sum(ch.isdigit() for ch in value)
    return ("_" in value or len(value) < 16) and digits * 3 <= len(value)


class ProviderSlot(models.Model):
    """One of a provider's `max_concurrency` call slots, shared by every worker
    through the database; `holder` is the generation using it."""

    provider = models.CharField(max_length=40)
    number = models.PositiveIntegerField()
    holder = models.UUIDField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "number"], name="one_slot_per_number")]

    def __str__(self):
        return f"{self.provider} #{self.number}"


ROUTE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,59}$")
DEFAULT_ROUTE = "z-image-turbo"


class ProviderRoute(models.Model):
    """A name users ask for (the default: `z-image-turbo`) and the providers
    that serve it, in order: a generation runs on the first healthy one that
    accepts its parameters and falls back down the list (lifecycle.routes)."""

    name = models.CharField(max_length=60, unique=True, help_text=_("e.g. z-image-turbo"))
    providers = models.CharField(
        max_length=300,
        help_text=_(
            "Registry names in order, comma-separated; an optional weight spreads new "
            "generations over the weighted ones: gpu_worker=3, dashscope=1, aimlapi"
        ),
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def _parts(self) -> list[tuple[str, str, str]]:
        """Each comma-separated part as written: (part, provider, weight text)."""
        parts = []
        for part in filter(None, (p.strip() for p in self.providers.split(","))):
            name, _sep, weight = part.partition("=")
            parts.append((part, name.strip(), weight))
        return parts

    def entries(self) -> list[tuple[str, int]]:
        """(provider, weight) in order; weight 0 where none was given."""
        return [
            (name, int(weight) if weight.strip().isdigit() else 0) for _part, name, weight in self._parts()
        ]

    def clean(self):
        super().clean()
        from generations.providers.registry import REGISTRY

        if not ROUTE_NAME_RE.match(self.name or "") or "@" in self.name:
            raise ValidationError({"name": _("Use lower-case letters, digits, '.', '_' and '-'.")})
        parts = self._parts()
        problems = [
            part
            for part, name, weight in parts
            if name not in REGISTRY or (weight and not weight.strip().isdigit())
        ]
        if problems or not parts:
            raise ValidationError(
                {
                    "providers": _(
                        "Not a provider (or not a whole-number weight): %(bad)s. Known: %(known)s."
                    )
                    % {"bad": ", ".join(problems) or "-", "known": ", ".join(REGISTRY)}
                }
            )


class ProviderCircuit(models.Model):
    """A provider's circuit breaker when there is no Redis: every process
    changes it with conditional UPDATEs (lifecycle.circuit)."""

    provider = models.CharField(max_length=40, unique=True)
    state = models.CharField(max_length=10, default="closed")
    failures = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    probe_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.provider}: {self.state}"


class Attempt(models.Model):
    """One provider call made for a generation: who, how it ended, when, how
    long it took and what the provider charged for it (0 for a failed call)."""

    generation = models.ForeignKey(
        "generations.Generation", on_delete=models.CASCADE, related_name="attempt_records"
    )
    provider = models.CharField(max_length=40)
    code = models.CharField(max_length=80, help_text=_("ok, or the error code"))
    at = models.DateTimeField(db_index=True)
    seconds = models.FloatField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=4, default=0)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["provider", "at"], name="attempt_provider_at")]

    def __str__(self):
        return f"{self.provider} {self.code}"
