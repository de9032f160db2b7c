"""Where a webhook may point: checked when the URL is given (create) and
where its delivery connects. Imports nothing of the site's but the error it
raises, so the API's serializers can use it without importing the delivery."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from generations.providers import InvalidRequest


def webhook_url_check(url: str) -> None:
    """Refuse what can be told without the network: other schemes, and private
    addresses written literally (the delivery checks what a name resolves to)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("webhook_url", _("The webhook URL must be an http or https URL."))
    if parts.hostname == "localhost" or _private_literal(parts.hostname):
        if not settings.WEBHOOK_ALLOW_PRIVATE:
            raise InvalidRequest("webhook_url", _("The webhook URL points at a private address."))


def _private_literal(host: str) -> bool:
    try:
        return not_global(host)
    except ValueError:  # a name, not an address: checked on connecting
        return False


def not_global(address: str) -> bool:
    return not ipaddress.ip_address(address).is_global
