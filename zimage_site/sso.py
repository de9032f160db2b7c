"""OpenID Connect providers from the environment, as django-allauth's settings.

One block of variables a provider, named by the ids in `OIDC_PROVIDERS`
(comma-separated, e.g. `OIDC_PROVIDERS=keycloak,entra`):

    OIDC_<ID>_NAME            shown on the button: "Sign in with <name>" (default: the id)
    OIDC_<ID>_ISSUER          the issuer URL (its /.well-known/openid-configuration is read)
    OIDC_<ID>_CLIENT_ID       the client registered at the provider
    OIDC_<ID>_CLIENT_SECRET   its secret (empty for a public client)
    OIDC_<ID>_SCOPES          default "openid email profile"
    OIDC_<ID>_GROUPS_CLAIM    the claim that lists the user's groups (default "groups")

Read here, in the settings, because the secrets live only in the environment:
they never reach the database or the admin. Every provider runs the
authorization code flow with PKCE; allauth checks `state`, and
`generations.accounts.oidc` adds and checks the `nonce`.
"""

import os
import re
from urllib.parse import urlsplit

DEFAULT_SCOPES = "openid email profile"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class SSOConfigError(ValueError):
    """A provider block that cannot work, named so that the message says which."""


def _env_key(provider_id: str, name: str) -> str:
    return f"OIDC_{re.sub(r'[^A-Z0-9]', '_', provider_id.upper())}_{name}"


def provider_app(provider_id: str, environ=os.environ) -> dict:
    """One allauth `APPS` entry for `provider_id`, or SSOConfigError naming
    the variable that is missing."""
    if not _ID.match(provider_id):
        raise SSOConfigError(
            f"OIDC_PROVIDERS: {provider_id!r} is not a usable id (lower-case letters, digits, - and _)"
        )

    def get(name: str, default: str = "") -> str:
        return environ.get(_env_key(provider_id, name), default).strip()

    issuer, client_id = get("ISSUER"), get("CLIENT_ID")
    for name, value in (("ISSUER", issuer), ("CLIENT_ID", client_id)):
        if not value:
            raise SSOConfigError(
                f"{_env_key(provider_id, name)} is not set (OIDC_PROVIDERS names {provider_id})"
            )
    return {
        "provider_id": provider_id,
        "name": get("NAME") or provider_id,
        "client_id": client_id,
        "secret": get("CLIENT_SECRET"),
        "settings": {
            "server_url": issuer.rstrip("/"),
            "scope": (get("SCOPES") or DEFAULT_SCOPES).replace(",", " ").split(),
            "oauth_pkce_enabled": True,
            "groups_claim": get("GROUPS_CLAIM") or "groups",
        },
    }


def socialaccount_providers(environ=os.environ) -> dict:
    """SOCIALACCOUNT_PROVIDERS for the providers named in OIDC_PROVIDERS."""
    ids = [item.strip() for item in environ.get("OIDC_PROVIDERS", "").split(",") if item.strip()]
    return {
        "openid_connect": {
            # allauth's provider plus the nonce (generations/accounts/oidc.py).
            "provider_class": "generations.accounts.oidc.NonceOpenIDConnectProvider",
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [provider_app(provider_id, environ) for provider_id in ids],
        }
    }


def form_action_origins(providers: dict) -> list[str]:
    """The issuers' origins, for the Content-Security-Policy's form-action:
    the sign-in button (and sign-out) is a form whose answer redirects there,
    and browsers hold that redirect to the form-action list. Each of the
    usual providers (Google, Entra ID, Okta, Keycloak) serves its login page
    on its issuer's origin; CSP_EXTRA_FORM_ACTION adds any other."""
    origins = []
    for app in providers.get("openid_connect", {}).get("APPS", []):
        parts = urlsplit(app["settings"]["server_url"])
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in origins:
            origins.append(origin)
    return origins
