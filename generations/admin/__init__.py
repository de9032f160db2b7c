"""The customised admin, one module per area; importing registers them."""

from generations.admin import accounts, core, integrations, settings, signin, users  # noqa: F401
