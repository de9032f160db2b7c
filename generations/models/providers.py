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
