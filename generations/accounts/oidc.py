"""django-allauth's OpenID Connect provider, with the `nonce` it leaves out,
and what the sign-in and sign-out pages need to know about the providers.

allauth sends `state` (checked and used up at the callback: a forged or
replayed callback is refused) and PKCE; this adds a fresh `nonce` to every
authorization request, kept with the state, which the ID token must carry
back (`nonce_matches`, checked by the adapter before anyone is signed in).
"""

import logging
import secrets
from urllib.parse import urlencode

from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.http import Http404

log = logging.getLogger(__name__)

NONCE_STATE_KEY = "oidc_nonce"
# Kept in the site session at sign-in, for the provider's end-session call.
SESSION_PROVIDER = "sso_provider"
SESSION_ID_TOKEN = "sso_id_token"


class NonceOpenIDConnectProvider(OpenIDConnectProvider):
    package = "allauth.socialaccount.providers.openid_connect"  # its URLs and views

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        """allauth's redirect, plus a nonce in the request and in the stashed state."""
        nonce = secrets.token_urlsafe(24)
        auth_params = kwargs.pop("auth_params", None)
        if auth_params is None:
            auth_params = self.get_auth_params()
        auth_params["nonce"] = nonce
        kwargs[NONCE_STATE_KEY] = nonce
        return super().redirect(request, process, next_url, data, auth_params=auth_params, **kwargs)

    def groups_claim(self) -> str:
        return self.app.settings.get("groups_claim") or "groups"


class IdTokenKeepingAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's adapter, keeping the raw ID token on the request: the
    provider's end-session endpoint wants it back as `id_token_hint` (Okta
    requires it), and allauth keeps only the decoded claims."""

    def complete_login(self, request, app, token, **kwargs):
        request.sso_id_token = (kwargs.get("response") or {}).get("id_token") or ""
        return super().complete_login(request, app, token, **kwargs)


def callback(request, provider_id):
    """allauth's OpenID Connect callback view, with the adapter above."""
    try:
        return OAuth2CallbackView.adapter_view(IdTokenKeepingAdapter(request, provider_id))(request)
    except SocialApp.DoesNotExist as error:
        raise Http404 from error


def nonce_matches(sociallogin) -> bool:
    """Whether the ID token carries the nonce this browser's request was sent
    with. A login with no ID token at all (never the case for OpenID Connect)
    does not match."""
    expected = (sociallogin.state or {}).get(NONCE_STATE_KEY)
    id_token = (sociallogin.account.extra_data or {}).get("id_token") or {}
    return bool(expected) and secrets.compare_digest(str(id_token.get("nonce", "")), expected)


def claims(sociallogin) -> dict:
    """The ID token's claims overlaid with the userinfo answer's (allauth keeps both)."""
    data = sociallogin.account.extra_data or {}
    return {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}


def groups_of(sociallogin) -> list[str]:
    """The names in the provider's group claim (a list, or one string)."""
    provider = sociallogin.account.get_provider()
    name = provider.groups_claim() if hasattr(provider, "groups_claim") else "groups"
    value = claims(sociallogin).get(name) or []
    if isinstance(value, str):
        value = [value]
    return [str(group) for group in value]


def sign_in_buttons(request) -> list[dict]:
    """One {"name", "url"} per configured provider, for the sign-in page."""
    buttons = []
    for app in get_social_adapter().list_apps(request, provider="openid_connect"):
        provider = app.get_provider(request)
        buttons.append({"id": app.provider_id, "name": app.name, "url": provider.get_login_url(request)})
    return buttons


def end_session_url(request, provider_id: str, id_token: str, after: str) -> str | None:
    """The provider's RP-initiated logout address, where its discovery
    document offers one (`end_session_endpoint`); None otherwise or when the
    provider cannot be reached (the site's own session is over either way)."""
    apps = get_social_adapter().list_apps(request, provider="openid_connect")
    app = next((a for a in apps if a.provider_id == provider_id), None)
    if app is None:
        return None
    try:
        endpoint = OpenIDConnectOAuth2Adapter(request, provider_id).openid_config.get("end_session_endpoint")
    except Exception as error:  # noqa: BLE001 - a provider that is down must not keep anyone signed in
        log.warning("OIDC provider %s: no discovery document for sign-out: %s", provider_id, error)
        return None
    if not endpoint:
        return None
    params = {"client_id": app.client_id, "post_logout_redirect_uri": after}
    if id_token:
        params["id_token_hint"] = id_token
    return f"{endpoint}?{urlencode(params)}"
