"""The customised admin, one module per area; importing registers them."""

from . import accounts, core, settings  # noqa: F401
