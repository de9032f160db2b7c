"""The customised admin, one module per area; importing registers them."""

from generations.admin import accounts, core, integrations, joining, settings, signin  # noqa: F401
