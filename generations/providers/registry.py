"""Which providers exist, how each is configured, which are usable."""

from django.conf import settings as django_settings
from django.utils.translation import gettext as _

from generations.providers.aimlapi import AimlApiProvider
from generations.providers.base import InvalidRequest, Provider, ProviderSettings, env
from generations.providers.credentials import CREDENTIALS_LABEL, credentials_key
from generations.providers.dashscope import DashScopeProvider
from generations.providers.demo import DemoProvider
from generations.providers.gpu_worker import GpuWorkerProvider
from generations.providers.openai_compat import OpenAICompatProvider
from generations.providers.zimageturbo import ZImageTurboProvider

REGISTRY: dict[str, type[Provider]] = {
    "dashscope": DashScopeProvider,
    "openai_compat": OpenAICompatProvider,
    "aimlapi": AimlApiProvider,
    "zimageturbo": ZImageTurboProvider,
    "demo": DemoProvider,
    "gpu_worker": GpuWorkerProvider,
}

# The order a default is picked in when no admin chose one: real providers
# configured first: the team's own GPU workers (no per-image bill), then hosted
# ones with a key (sync before submit+poll), the offline demo last.
PREFERENCE = ["gpu_worker", "dashscope", "openai_compat", "aimlapi", "zimageturbo", "demo"]


# Providers whose key may also come from ~/.alibabacloud/credentials, and its field there.
FILE_KEYS = {"dashscope": "dashscope_api_key"}

_UNLOADED = object()


def provider_configs() -> dict:
    """Every admin ProviderConfig row by name, in one query (a create looks at
    all of them to pick the default), kept a moment (see config_cache)."""
    from generations.models import ProviderConfig
    from generations.runtime.config_cache import config_cached

    return config_cached(
        "provider_configs", lambda: {config.name: config for config in ProviderConfig.objects.all()}
    )


def provider_settings(name: str, config=_UNLOADED) -> ProviderSettings:
    """Environment first (`<NAME>_BASE_URL`, `<NAME>_API_KEY`, `<NAME>_REGION`,
    `<NAME>_MODEL`), overridden field by field by an admin's ProviderConfig row
    (`config`: that row or None, when the caller has loaded it already). A
    DashScope key missing from the environment may come from the Alibaba
    Cloud credentials file (credentials.py)."""

    prefix = name.upper()
    key_env = f"{prefix}_API_KEY"
    values = {
        "base_url": env(f"{prefix}_BASE_URL"),
        "region": env(f"{prefix}_REGION"),
        "model_name": env(f"{prefix}_MODEL"),
        "timeout": django_settings.PROVIDER_TIMEOUT,
    }
    if config is _UNLOADED:
        config = provider_configs().get(name)
    if config:
        key_env = config.api_key_env or key_env
        values.update(
            {
                k: v
                for k, v in {
                    "base_url": config.base_url,
                    "region": config.region,
                    "model_name": config.model_name,
                }.items()
                if v
            }
        )
        values.update(timeout=float(config.timeout_s), internal=config.internal)
    key, source = env(key_env), f"environment ({key_env})"
    if not key and name in FILE_KEYS:  # the environment takes precedence
        key, source = credentials_key(FILE_KEYS[name]), CREDENTIALS_LABEL
    return ProviderSettings(api_key=key, api_key_env=key_env, api_key_source=source if key else "", **values)


def get_provider(name: str, config=_UNLOADED) -> Provider:
    if name not in REGISTRY:
        raise InvalidRequest(
            "provider",
            _("Unknown provider '%(name)s'. Known: %(known)s.")
            % {"name": name, "known": ", ".join(REGISTRY)},
        )
    return REGISTRY[name](provider_settings(name, config))


def _reason(provider: Provider, config) -> str:
    return _("Disabled by an admin.") if config and not config.enabled else provider.unavailable_reason()


def provider_status(configs: dict | None = None) -> list[tuple[Provider, str]]:
    """Every registered provider with why it cannot be used ('' when it can)."""
    configs = provider_configs() if configs is None else configs
    rows = []
    for name in REGISTRY:
        provider = get_provider(name, configs.get(name))
        rows.append((provider, _reason(provider, configs.get(name))))
    return rows


def available_providers() -> list[Provider]:
    return [provider for provider, reason in provider_status() if not reason]


def default_provider_name(configs: dict | None = None, statuses: list | None = None) -> str:
    """The admin's default, else DEFAULT_PROVIDER, else the first usable in
    preference order; `statuses`: provider_status() when the caller has it."""
    configs = provider_configs() if configs is None else configs
    statuses = provider_status(configs) if statuses is None else statuses
    usable = {p.name for p, reason in statuses if not reason}
    chosen = min(
        (c for c in configs.values() if c.is_default and c.enabled), key=lambda c: c.pk, default=None
    )
    for name in [chosen.name if chosen else "", django_settings.DEFAULT_PROVIDER, *PREFERENCE]:
        if name in usable:
            return name
    return "demo"


def usable_provider(name: str | None) -> Provider:
    """The provider to run a new generation on (None: the default), or
    InvalidRequest saying why not."""
    configs = provider_configs()
    if not name:
        name = default_provider_name(configs)
    config = configs.get(name)
    provider = get_provider(name, config)
    reason = _reason(provider, config)
    if reason:
        raise InvalidRequest(
            "provider",
            _("%(provider)s is unavailable: %(reason)s") % {"provider": provider.label, "reason": reason},
        )
    return provider
