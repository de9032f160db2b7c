"""The app's models, by concern; imported here so Django and
`from generations.models import ...` find them."""

from generations.models.accounts import GroupMapping, Invitation
from generations.models.billing import (
    AuditLog,
    CreditAccount,
    CreditEntry,
    CreditRequest,
    PriceRule,
    Team,
    TeamMembership,
)
from generations.models.generation import (
    Batch,
    Collection,
    CollectionQuerySet,
    Generation,
    GenerationQuerySet,
    PendingImage,
    Prompt,
    Tag,
)
from generations.models.integrations import ApiToken, WebhookDelivery, WebhookSecret
from generations.models.providers import (
    DEFAULT_ROUTE,
    Attempt,
    ProviderCircuit,
    ProviderConfig,
    ProviderRoute,
    ProviderSlot,
    looks_like_env_name,
)

__all__ = [
    "DEFAULT_ROUTE",
    "ApiToken",
    "Attempt",
    "AuditLog",
    "Batch",
    "Collection",
    "CollectionQuerySet",
    "CreditAccount",
    "CreditEntry",
    "CreditRequest",
    "Generation",
    "GenerationQuerySet",
    "GroupMapping",
    "Invitation",
    "PendingImage",
    "PriceRule",
    "Prompt",
    "ProviderCircuit",
    "ProviderConfig",
    "ProviderRoute",
    "ProviderSlot",
    "Tag",
    "Team",
    "TeamMembership",
    "WebhookDelivery",
    "WebhookSecret",
    "looks_like_env_name",
]
