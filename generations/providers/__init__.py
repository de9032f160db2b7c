"""Provider registry: an explicit dict, no auto-discovery."""

from generations.providers.base import (
    Capabilities,
    GenerationRequest,
    GenerationResult,
    InvalidRequest,
    Provider,
    ProviderError,
    ProviderSettings,
)
from generations.providers.dashscope import DashScopeProvider
from generations.providers.demo import DemoProvider
from generations.providers.registry import REGISTRY, available_providers, default_provider_name, get_provider

__all__ = [
    "REGISTRY",
    "Capabilities",
    "DashScopeProvider",
    "DemoProvider",
    "GenerationRequest",
    "GenerationResult",
    "InvalidRequest",
    "Provider",
    "ProviderError",
    "ProviderSettings",
    "available_providers",
    "default_provider_name",
    "get_provider",
]
