"""The staff setup checklist: for each real provider, which environment
variables configure it, whether it is usable now, and where the docs say
more. Only whether a variable is set is ever shown, never its value."""

from dataclasses import dataclass

from django.utils.translation import gettext_noop

from generations.providers.base import Provider, env
from generations.providers.registry import provider_status


@dataclass(frozen=True)
class Variable:
    name: str
    required: bool
    is_set: bool


@dataclass(frozen=True)
class ChecklistRow:
    provider: Provider
    variables: tuple[Variable, ...]
    reason: str  # why it cannot be used now; '' when it can
    docs: str  # the docs/admin.md anchor

    @property
    def configured(self) -> bool:
        return not self.reason

    @property
    def name(self) -> str:
        return self.provider.name


def _variables(provider: Provider) -> tuple[Variable, ...]:
    """The provider's variables, set or not; an admin's renamed key variable
    (ProviderConfig.api_key_env) replaces the default one."""
    key_default = f"{provider.name.upper()}_API_KEY"
    key_env = provider.settings.api_key_env or key_default
    rows = []
    for name, required in provider.variables:
        shown = key_env if name == key_default else name
        rows.append(Variable(name=shown, required=required, is_set=bool(env(shown))))
    return tuple(rows)


def checklist() -> list[ChecklistRow]:
    """Every provider, real ones first in the registry's order, demo last."""
    rows = [
        ChecklistRow(
            provider=provider,
            variables=_variables(provider),
            reason=str(reason),
            docs=provider.docs_section,
        )
        for provider, reason in provider_status()
    ]
    return sorted(rows, key=lambda row: row.name == "demo")


def only_demo(rows: list[ChecklistRow] | None = None) -> bool:
    """No real provider is usable: every image would be the demo's."""
    rows = checklist() if rows is None else rows
    return not any(row.configured for row in rows if row.name != "demo")


# What "Test this provider" asks for, in the tester's language (Z-Image reads
# Chinese and English prompts alike): translated when the test is made.
TEST_PROMPT = gettext_noop("A red fox in fresh snow, morning light")
