"""The demo provider does what prompt_extend charges for: it rewrites."""

from generations.lifecycle import pipeline, services
from generations.providers.base import GenerationRequest
from generations.providers.demo import REWRITE_SUFFIX
from generations.providers.registry import get_provider


def run(owner, **kw):
    generation = services.generation_create(
        user=owner, prompt="a red fox in snow.", width=512, height=512, provider="demo", seed=3, **kw
    )
    pipeline.generation_run(generation_id=generation.pk)
    generation.refresh_from_db()
    return generation


def test_a_demo_generation_with_prompt_extend_is_rewritten(owner):
    generation = run(owner, prompt_extend=True)
    assert generation.status == "succeeded"
    assert generation.rewritten_prompt == f"a red fox in snow, {REWRITE_SUFFIX}"
    assert generation.reasoning.startswith("Demo rewrite")


def test_without_prompt_extend_nothing_is_rewritten(owner):
    generation = run(owner)
    assert generation.status == "succeeded"
    assert generation.rewritten_prompt == "" and generation.reasoning == ""


def test_the_rewrite_is_deterministic_and_drawn():
    request = GenerationRequest(prompt="a fox", width=512, height=512, seed=1, prompt_extend=True)
    demo = get_provider("demo", None)
    first, second = demo.generate(request), demo.generate(request)
    assert first.rewritten_prompt == second.rewritten_prompt and first.image_bytes == second.image_bytes
    plain = demo.generate(GenerationRequest(prompt="a fox", width=512, height=512, seed=1))
    assert plain.image_bytes != first.image_bytes  # the picture shows the rewritten prompt
