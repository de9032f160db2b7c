"""What a client needs to validate and quote before creating: every provider,
usable or not (with why), its limits, its size presets and their prices."""

from __future__ import annotations

from dataclasses import asdict

from generations.billing import pricing, spendable
from generations.lifecycle import services
from generations.lifecycle.health import providers_health
from generations.providers.registry import default_provider_name, provider_status


def provider_catalog() -> list[dict]:
    default = default_provider_name()
    rows = provider_status()
    health = providers_health([provider.name for provider, _reason in rows])
    return [
        {
            "name": provider.name,
            "label": str(provider.label),
            "available": not reason,
            "unavailable_reason": reason,
            "default": provider.name == default,
            "capabilities": _capabilities(provider.capabilities),
            "presets": [_preset(provider, width, height) for width, height in provider.capabilities.presets],
            "health": asdict(health[provider.name]),
        }
        for provider, reason in rows
    ]


def _capabilities(caps) -> dict:
    return {
        "min_pixels": caps.min_pixels,
        "max_pixels": caps.max_pixels,
        "min_side": caps.min_side,
        "max_side": caps.max_side,
        "size_step": caps.size_step,
        "aspect_ratios": list(caps.aspect_ratios),
        "max_prompt_chars": caps.max_prompt_chars,
        "seed_range": list(caps.seed_range) if caps.seed_range else None,
        "prompt_extend": caps.prompt_extend,
        "steps_range": list(caps.steps_range) if caps.steps_range else None,
        "mode": caps.mode,
    }


def _preset(provider, width: int, height: int) -> dict:
    def cost(extend: bool) -> int:
        return pricing.price(provider=provider.name, width=width, height=height, prompt_extend=extend)

    return {
        "size": f"{width}x{height}",
        "width": width,
        "height": height,
        "price": cost(False),
        "price_prompt_extend": cost(True) if provider.capabilities.prompt_extend else None,
    }


def generation_quote_for(
    *,
    user,
    prompt: str,
    width: int,
    height: int,
    prompt_extend: bool = False,
    provider: str | None = None,
    route: str | None = None,
    seed: int | None = None,
    steps: int | None = None,
) -> dict:
    """The price of a create with these parameters and whether the user can pay it.
    Raises InvalidRequest like the create would; writes nothing."""
    name, cost = services.generation_quote(
        provider=provider,
        route=route,
        prompt=prompt,
        width=width,
        height=height,
        seed=seed,
        prompt_extend=prompt_extend,
        steps=steps,
    )
    check = spendable.price_check(user=user, provider=name, cost=cost)
    return {
        "provider": name,
        "size": f"{width}x{height}",
        "prompt_extend": prompt_extend,
        "credits": cost,
        "balance": check.spendable.available,
        "affordable": check.payer is not None,
        "problem": check.problem,
    }
