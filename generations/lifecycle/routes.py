"""Routes: a name a user asks for (the default, `z-image-turbo`) and the
providers that serve it, in order. Every provider serves the same model, so a
generation asked for a route starts on the first healthy provider that accepts
its parameters and, on a retryable failure or an open circuit, moves on to the
next (pipeline). Naming a provider instead disables all of this.

Out of the box (no ProviderRoute rows) the default route is every configured
provider in the registry's preference order (the admin's default first); the
demo renderer makes placeholders, so it is never a fallback, only the route
when nothing else is configured. The price of a route is the price list of
its first listed provider that accepts the parameters, whichever provider
then makes the image (docs/admin.md)."""

from __future__ import annotations

import random
from collections.abc import Callable

from django.utils.translation import gettext as _

from generations.lifecycle import circuit
from generations.models import DEFAULT_ROUTE, ProviderRoute
from generations.providers import GenerationRequest, InvalidRequest, Provider
from generations.providers.registry import PREFERENCE, default_provider_name, provider_status


def _rows() -> dict[str, ProviderRoute]:
    from generations.runtime.config_cache import config_cached

    return config_cached(
        "provider_routes", lambda: {r.name: r for r in ProviderRoute.objects.filter(enabled=True)}
    )


def route_target(provider: str | None, route: str | None) -> tuple[str, str | None]:
    """What a create runs on: (its route, '' when it names a provider, which
    then gets no fallback; what its request fingerprint records as the target:
    the provider named, a route other than the default as "route:<name>", else
    None, as a create on the default provider recorded before routes)."""
    route = "" if provider else (route or DEFAULT_ROUTE)
    return route, provider or (f"route:{route}" if route != DEFAULT_ROUTE else None)


def route_names() -> list[str]:
    """Every route a user may ask for, the default first."""
    return [DEFAULT_ROUTE, *sorted(name for name in _rows() if name != DEFAULT_ROUTE)]


def route_entries(name: str, statuses: list | None = None) -> list[tuple[str, int]] | None:
    """(provider, weight) in order for route `name`; None when there is no
    such route. `statuses`: provider_status() when the caller has it."""
    row = _rows().get(name)
    if row is not None:
        return row.entries()
    if name != DEFAULT_ROUTE:
        return None
    first = default_provider_name(statuses=statuses)
    return [(p, 0) for p in dict.fromkeys([first, *PREFERENCE])]


def route_providers(name: str) -> list[Provider]:
    """The usable providers of route `name` in order (the demo only when it is
    the only one). Raises InvalidRequest for an unknown route."""
    return _route(name)[1]


def _route(name: str) -> tuple[list[tuple[str, int]], list[Provider]]:
    """Route `name`'s entries and its usable providers, from one look at every
    provider's status (building them reads settings and the environment)."""
    statuses = provider_status()
    entries = route_entries(name, statuses)
    if entries is None:
        raise InvalidRequest(
            "model",
            _("Unknown model '%(name)s'. Known: %(known)s.")
            % {"name": name, "known": ", ".join(route_names())},
        )
    usable = {p.name: p for p, reason in statuses if not reason}
    found = [usable[n] for n, _weight in entries if n in usable]
    real = [p for p in found if p.name != "demo"]
    return entries, real or found or ([usable["demo"]] if "demo" in usable else [])


def accepting(providers: list[Provider], request: GenerationRequest) -> list[Provider]:
    """Those of `providers` whose capabilities accept `request`, in order.
    None accepting: the first one's refusal, naming the problem."""
    found = []
    first_error: InvalidRequest | None = None
    for provider in providers:
        try:
            provider.capabilities.validate(request)
        except InvalidRequest as exc:
            first_error = first_error or exc
            continue
        found.append(provider)
    if not found:
        raise first_error or InvalidRequest("model", _("No provider of this route is available."))
    return found


def route_start(name: str, request: GenerationRequest) -> tuple[Provider, Provider]:
    """(the provider to start on, the provider whose price list the route
    charges). The start is the first one whose circuit is not open; with
    weights, drawn among the weighted healthy ones in proportion."""
    entries, providers = _route(name)
    candidates = accepting(providers, request)
    if len(candidates) == 1:  # the start whatever its circuit says: no need to read it
        return candidates[0], candidates[0]
    usable = circuit.usable([p.name for p in candidates])
    healthy = [p for p in candidates if p.name in usable] or candidates
    weights = dict(entries)
    weighted = [p for p in healthy if weights.get(p.name)]
    if weighted:
        start = random.choices(weighted, weights=[weights[p.name] for p in weighted])[0]
    else:
        start = healthy[0]
    return start, candidates[0]


def route_next(
    name: str,
    current: str,
    request: GenerationRequest,
    *,
    tried: set[str],
    called: bool = True,
    allowed: Callable[[str], bool] = lambda _name: True,
) -> str | None:
    """The provider a generation on `current` falls back to: the next one in
    the route's order (then from its top) that accepts it, whose circuit is
    not open and that has not failed it yet (`tried`); None when there is
    none, and the generation backs off instead of going round in circles.
    When `current` was not even called (`called=False`: its circuit is open),
    a provider tried before may take it again. Only providers the owner's
    account `allowed` are candidates: a fallback must not carry a limited
    account past the limit the create checked."""
    try:
        candidates = [p.name for p in accepting(route_providers(name), request) if allowed(p.name)]
    except InvalidRequest:
        return None
    at = candidates.index(current) if current in candidates else -1
    others = [p for p in candidates[at + 1 :] + candidates[: max(at, 0)] if p != current]
    healthy = circuit.usable(others)
    fresh = [p for p in healthy if p not in tried]
    chosen = fresh or ([] if called else healthy)
    return chosen[0] if chosen else None
