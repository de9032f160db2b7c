"""The customised admin, one module per area; importing registers them."""

from generations.admin import (  # noqa: F401
    accounts,
    core,
    credit_requests,
    integrations,
    joining,
    settings,
    signin,
    users,
)
