"""The demo provider: a local Pillow renderer, so the whole pipeline runs offline.

Not Z-Image: it draws a deterministic abstract picture from the prompt and the
seed (same prompt and seed, same bytes) and is labelled as a demo everywhere.
"""

import hashlib
import io
import os
import random
import textwrap

from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageDraw, ImageFont

from generations.providers.base import (
    Capabilities,
    GenerationRequest,
    GenerationResult,
    Provider,
    ProviderError,
)
from generations.providers.dashscope import PRESETS


class DemoProvider(Provider):
    name = "demo"
    label = _("Demo renderer (local, not Z-Image)")
    needs_key = False
    capabilities = Capabilities(max_prompt_chars=4000, presets=PRESETS)

    def unavailable_reason(self) -> str:
        return ""

    def generate(self, req: GenerationRequest) -> GenerationResult:
        seed = req.seed if req.seed is not None else random.randrange(2**31)
        if "[demo-fail]" in req.prompt:  # lets people see how a failure looks
            raise ProviderError("DemoFailure", "The demo renderer was asked to fail.")
        rewritten, reasoning = rewrite(req.prompt) if req.prompt_extend else ("", "")
        data = render(rewritten or req.prompt, req.width, req.height, seed)
        return GenerationResult(
            image_bytes=data,
            width=req.width,
            height=req.height,
            seed=seed,
            rewritten_prompt=rewritten,
            reasoning=reasoning,
            request_id=f"demo-{hashlib.sha1(data).hexdigest()[:12]}",
        )


# prompt_extend is charged for, so the demo does it too: visibly and always
# the same way (no language model here), and draws the rewritten prompt.
REWRITE_SUFFIX = "soft natural light, rich fine detail, balanced composition, high quality"
REWRITE_REASONING = (
    "Demo rewrite: the prompt was kept and a fixed description of light, detail "
    "and composition added, as a real provider's prompt_extend would enrich it."
)


def rewrite(prompt: str) -> tuple[str, str]:
    """(rewritten prompt, reasoning) for prompt_extend."""
    return f"{prompt.rstrip().rstrip(',.')}, {REWRITE_SUFFIX}", REWRITE_REASONING


def render(prompt: str, width: int, height: int, seed: int) -> bytes:
    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    rng = random.Random(digest)
    top, bottom = _colour(digest[:3]), _colour(digest[3:6])
    image = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), top), Image.new("RGB", (width, height), bottom), image
    )
    draw = ImageDraw.Draw(image, "RGBA")
    for _circle in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(min(width, height) // 12, min(width, height) // 3)
        fill = (*_colour(bytes(rng.randrange(256) for _channel in range(3))), 90)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    size = max(14, min(width, height) // 32)
    font = _font(size)
    lines = textwrap.wrap(prompt, width=max(10, int(width / (size * 0.6))))[:5]
    lines.append(f"DEMO renderer, not Z-Image · seed {seed}")
    top_y = height - (len(lines) + 1) * (size + 6)
    draw.rectangle((0, top_y, width, height), fill=(0, 0, 0, 130))
    for i, line in enumerate(lines):
        draw.text((size, top_y + size // 2 + i * (size + 6)), line, font=font, fill=(255, 255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False, compress_level=3)
    return out.getvalue()


# A CJK-capable system font when one is installed, so Chinese prompts render;
# otherwise Pillow's built-in font (Latin only).
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


def _font(size: int):
    for path in CJK_FONTS:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _colour(raw: bytes) -> tuple[int, int, int]:
    return raw[0], raw[1], raw[2]
