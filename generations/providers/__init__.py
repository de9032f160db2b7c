"""Provider registry: an explicit dict, no auto-discovery."""

from .base import (
    Capabilities,
    GenerationRequest,
    GenerationResult,
    InvalidRequest,
    Provider,
    ProviderError,
    ProviderSettings,
)
from .dashscope import DashScopeProvider
from .demo import DemoProvider
from .registry import REGISTRY, available_providers, default_provider_name, get_provider

__all__ = [
    "REGISTRY", "Capabilities", "DashScopeProvider", "DemoProvider", "GenerationRequest",
    "GenerationResult", "InvalidRequest", "Provider", "ProviderError", "ProviderSettings",
    "available_providers", "default_provider_name", "get_provider",
]
