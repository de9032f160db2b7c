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
from generations.models.providers import ProviderConfig, ProviderSlot, looks_like_env_name

__all__ = [
    "ApiToken",
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
    "ProviderConfig",
    "ProviderSlot",
    "Tag",
    "Team",
    "TeamMembership",
    "WebhookDelivery",
    "WebhookSecret",
    "looks_like_env_name",
]
