"""The customised admin, one module per area; importing registers them."""

from generations.admin import accounts, core, credit_requests, integrations, settings, signin, users  # noqa: F401
