"""Which providers exist, how each is configured, which are usable."""

from django.conf import settings as django_settings

from .aimlapi import AimlApiProvider
from .base import InvalidRequest, Provider, ProviderSettings, env
from .dashscope import DashScopeProvider
from .demo import DemoProvider
from .gpu_worker import GpuWorkerProvider
from .openai_compat import OpenAICompatProvider
from .zimageturbo import ZImageTurboProvider

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


def provider_settings(name: str) -> ProviderSettings:
    """Environment first (`<NAME>_BASE_URL`, `<NAME>_API_KEY`, `<NAME>_REGION`,
    `<NAME>_MODEL`), overridden field by field by an admin's ProviderConfig row."""
    from ..models import ProviderConfig

    prefix = name.upper()
    key_env = f"{prefix}_API_KEY"
    values = {
        "base_url": env(f"{prefix}_BASE_URL"), "region": env(f"{prefix}_REGION"),
        "model_name": env(f"{prefix}_MODEL"), "timeout": django_settings.PROVIDER_TIMEOUT,
    }
    config = ProviderConfig.objects.filter(name=name).first()
    if config:
        key_env = config.api_key_env or key_env
        values.update({k: v for k, v in {
            "base_url": config.base_url, "region": config.region, "model_name": config.model_name,
        }.items() if v})
        values.update(timeout=float(config.timeout_s), internal=config.internal)
    return ProviderSettings(api_key=env(key_env), api_key_env=key_env, **values)


def get_provider(name: str) -> Provider:
    if name not in REGISTRY:
        raise InvalidRequest("provider", f"Unknown provider '{name}'. Known: {', '.join(REGISTRY)}.")
    return REGISTRY[name](provider_settings(name))


def disabled_names() -> set[str]:
    from ..models import ProviderConfig

    return set(ProviderConfig.objects.filter(enabled=False).values_list("name", flat=True))


def provider_status() -> list[tuple[Provider, str]]:
    """Every registered provider with why it cannot be used ('' when it can)."""
    disabled = disabled_names()
    rows = []
    for name in REGISTRY:
        provider = get_provider(name)
        reason = "Disabled by an admin." if name in disabled else provider.unavailable_reason()
        rows.append((provider, reason))
    return rows


def available_providers() -> list[Provider]:
    return [provider for provider, reason in provider_status() if not reason]


def default_provider_name() -> str:
    from ..models import ProviderConfig

    usable = {p.name for p in available_providers()}
    chosen = ProviderConfig.objects.filter(is_default=True, enabled=True).first()
    for name in [chosen.name if chosen else "", django_settings.DEFAULT_PROVIDER, *PREFERENCE]:
        if name in usable:
            return name
    return "demo"


def usable_provider(name: str) -> Provider:
    """The provider to run a new generation on, or InvalidRequest saying why not."""
    provider = get_provider(name)
    reason = "Disabled by an admin." if name in disabled_names() else provider.unavailable_reason()
    if reason:
        raise InvalidRequest("provider", f"{provider.label} is unavailable: {reason}")
    return provider
