"""What an image costs, in credits, before it is made.

Credits per image by megapixel band, plus a surcharge when the provider
rewrites the prompt (every provider bills prompt_extend higher). Admin-set
prices replace these defaults later; a generation keeps the price it was
created with in `credits_cost`.
"""

# (upper bound in megapixels, credits); the bands the admin issue names.
DEFAULT_BANDS = ((0.5, 1), (1.05, 2), (1.5, 3), (2.25, 4), (4.2, 6))
PROMPT_EXTEND_SURCHARGE = 1


def price(*, provider: str, width: int, height: int, prompt_extend: bool) -> int:
    megapixels = width * height / 1_000_000
    base = next((credits for limit, credits in DEFAULT_BANDS if megapixels <= limit),
                DEFAULT_BANDS[-1][1])
    return base + (PROMPT_EXTEND_SURCHARGE if prompt_extend else 0)
