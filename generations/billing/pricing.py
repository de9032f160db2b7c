"""What an image costs, in credits, before it is made.

Credits per image by megapixel band, plus a surcharge when the provider
rewrites the prompt (every provider bills prompt_extend higher). Admins set
prices as PriceRule rows (per provider, or '' for any); without any rule the
built-in bands below apply. A generation keeps the price it was created with
(`credits_cost`, `provider_price`), so a new price never changes the past.
"""

from dataclasses import dataclass
from decimal import Decimal

# (upper bound in megapixels, credits); the bands the admin issue names.
DEFAULT_BANDS = ((0.5, 1), (1.05, 2), (1.5, 3), (2.25, 4), (4.2, 6))
PROMPT_EXTEND_SURCHARGE = 1


@dataclass(frozen=True)
class Price:
    credits: int
    provider_cost: Decimal  # in the provider's own currency


def quote(*, provider: str, width: int, height: int, prompt_extend: bool) -> Price:
    from generations.models import PriceRule
    from generations.runtime.config_cache import config_cached

    megapixels = Decimal(width * height) / 1_000_000
    # The provider's own rules, else the rules for any provider; all rules are
    # a few rows, read at most every CONFIG_CACHE_SECONDS.
    found = config_cached("price_rules", lambda: list(PriceRule.objects.all()))
    rules = [r for r in found if r.provider == provider] or [r for r in found if not r.provider]
    if not rules:
        base = next(
            (credits for limit, credits in DEFAULT_BANDS if megapixels <= Decimal(str(limit))),
            DEFAULT_BANDS[-1][1],
        )
        return Price(base + (PROMPT_EXTEND_SURCHARGE if prompt_extend else 0), Decimal(0))
    rules.sort(key=lambda rule: rule.max_megapixels)
    # Above the largest band the largest band's price applies, as with the defaults.
    rule = next((r for r in rules if megapixels <= r.max_megapixels), rules[-1])
    surcharge = rule.prompt_extend_surcharge if prompt_extend else 0
    return Price(rule.credits + surcharge, rule.provider_cost)


def price(*, provider: str, width: int, height: int, prompt_extend: bool) -> int:
    return quote(provider=provider, width=width, height=height, prompt_extend=prompt_extend).credits
