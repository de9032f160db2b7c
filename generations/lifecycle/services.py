"""Workflows that cross models: quote, create, cancel, fail, remix and delete a
generation. Running one (provider call, polls, the copy into storage) is in
`pipeline`."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from generations import tasks
from generations.billing import ledger, pricing, quotas
from generations.billing.quotas import LimitExceeded  # noqa: F401  raised here; defined beside the other quota checks
from generations.lifecycle import idempotency, routes
from generations.models import DEFAULT_ROUTE, Generation, Prompt, Tag
from generations.providers import GenerationRequest, Provider
from generations.providers.registry import default_provider_name, get_provider, usable_provider
from generations.runtime.logcontext import bind_generation

log = logging.getLogger(__name__)
broker_log = logging.getLogger("generations.broker")
Status = Generation.Status


def generation_quote(
    *,
    provider: str | None,
    route: str | None = None,
    prompt: str,
    width: int,
    height: int,
    seed: int | None = None,
    prompt_extend: bool = False,
    steps: int | None = None,
) -> tuple[str, int]:
    """Validate against the provider's capabilities and price it: (provider, credits).
    Raises InvalidRequest naming the problem; touches nothing."""
    chosen, price = generation_price(
        provider=provider,
        route=route,
        prompt=prompt,
        width=width,
        height=height,
        seed=seed,
        prompt_extend=prompt_extend,
        steps=steps,
    )
    return chosen.name, price.credits


def generation_price(
    *,
    provider: str | None,
    prompt: str,
    width: int,
    height: int,
    seed: int | None,
    prompt_extend: bool,
    steps: int | None,
    route: str | None = None,
) -> tuple[Provider, pricing.Price]:
    """generation_quote's work, keeping the provider and the whole price for a
    create, one image or a batch's (which would otherwise look both up again).
    No provider named: the route's (`route`, else the default route) start
    provider, priced by the route's price list (routes.route_start)."""
    request = GenerationRequest(
        prompt=prompt, width=width, height=height, seed=seed, prompt_extend=prompt_extend, steps=steps
    )
    if provider:
        chosen = priced = usable_provider(provider)
        chosen.capabilities.validate(request)
    else:
        chosen, priced = routes.route_start(route or DEFAULT_ROUTE, request)
    return chosen, pricing.quote(
        provider=priced.name, width=width, height=height, prompt_extend=prompt_extend
    )


def generation_create(
    *,
    user,
    prompt: str,
    width: int,
    height: int,
    seed: int | None = None,
    prompt_extend: bool = False,
    provider: str | None = None,
    route: str | None = None,
    steps: int | None = None,
    saved_prompt: Prompt | None = None,
    tags: Sequence[str] = (),
    webhook_url: str = "",
    idempotency_key: str | None = None,
    claim: bool = False,
    retried: bool = False,
    via: str = "",
) -> Generation:
    """Validate, price, hold the credits, insert, and enqueue after commit.
    `claim=True`: inserted already running (claimed, first attempt) and not
    enqueued, for the caller to run at once (pipeline.generation_run_now).
    Raises InvalidRequest, LimitExceeded or ledger.InsufficientCredits, writing nothing.

    With `idempotency_key`, a repeat of the same request within
    IDEMPOTENCY_WINDOW returns the first generation (with `replayed = True`)
    and holds nothing; the same key with other parameters raises
    idempotency.IdempotencyConflict. Without a key, `retried` (the client says
    this request is a retry) returns the recent generation it retries, if any
    (idempotency.retry_match, among those made `via` the same entry point).

    `provider` names one provider (no fallback); otherwise the generation
    runs on `route` (None: the default route) and may fall back (routes.py)."""
    route, target = routes.route_target(provider, route)
    fingerprint = idempotency.fingerprint(
        prompt=prompt,
        width=width,
        height=height,
        seed=seed,
        prompt_extend=prompt_extend,
        provider=target,
        steps=steps,
        saved_prompt=saved_prompt,
        tags=tags,
        webhook_url=webhook_url,
        via=via,
    )
    if replay := idempotency.replay(user=user, key=idempotency_key, fingerprint=fingerprint):
        return replay
    if (
        retried
        and not idempotency_key
        and (replay := idempotency.retry_match(user=user, fingerprint=fingerprint))
    ):
        return replay
    chosen, price = generation_price(
        provider=provider,
        route=route,
        prompt=prompt,
        width=width,
        height=height,
        seed=seed,
        prompt_extend=prompt_extend,
        steps=steps,
    )
    name, cost = chosen.name, price.credits
    seed_used = seed_pick(seed, chosen.capabilities.seed_range)
    claimed = {"status": Status.RUNNING, "started_at": timezone.now(), "attempts": 1} if claim else {}
    generation = Generation(
        owner=user,
        prompt=prompt,
        width=width,
        height=height,
        seed=seed,
        seed_used=seed_used,
        prompt_extend=prompt_extend,
        steps=steps,
        provider=name,
        route=route,
        credits_cost=cost,
        saved_prompt=saved_prompt,
        webhook_url=webhook_url,
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint,
        provider_price=price.provider_cost,
        **claimed,
    )
    # The common case (no key to replay, no tags, no limit to check) in one statement.
    fast = not (idempotency_key or tags)
    if fast and (held := ledger.generation_insert_held(generation=generation, cost=cost)):
        generation.hold_entry = held
    elif replay := _create_held(generation, tags=tags, key=idempotency_key):
        return replay
    bind_generation(generation.pk)  # the request's later log lines are about this generation
    log.info("generation %s created on %s, %s credits held", generation.pk, name, cost)
    if not claim:
        transaction.on_commit(lambda: generation_enqueue(generation.pk, provider=name))
    generation.replayed = False
    generation.tag_names = sorted(set(tags))  # the answer shows them without reading them back
    return generation


def seed_pick(seed: int | None, seed_range: tuple[int, int] | None) -> int | None:
    """The seed to make an image with: picked here when none was asked (and
    the provider takes one), so every image can be made again."""
    return seed if seed is not None or seed_range is None else random.randint(*seed_range)


def _create_held(generation: Generation, *, tags: Sequence[str], key: str | None) -> Generation | None:
    """generation_create's full path: lock the payers, check the limits, insert
    and hold. Returns the first generation when `key` replays, else None."""
    user = generation.owner
    with transaction.atomic():
        payers = ledger.payers_locked(user)
        # Checked again under the account lock: two racing retries serialize here.
        if replay := idempotency.replay(user=user, key=key, fingerprint=generation.request_fingerprint):
            return replay
        own = next(a for a in payers if a.user_id == user.pk)
        quotas.quota_check_create(
            user=user, account=own, provider=generation.provider, cost=generation.credits_cost
        )
        generation.save(force_insert=True)
        # Kept for the capture, which then need not read it back (ledger._capture_hold).
        generation.hold_entry = ledger.hold(
            generation=generation, amount=generation.credits_cost, locked=payers
        )
        if tags:  # a new generation has none to clear
            _set_tags(generation, tags)
    return None


def _set_tags(generation: Generation, names: Sequence[str]) -> None:
    tags = [Tag.objects.get_or_create(owner=generation.owner, name=name)[0] for name in sorted(set(names))]
    generation.tags.set(tags)


def generation_enqueue(generation_id, delay: float = 0, provider: str | None = None) -> None:
    """Wake a worker for a queued generation. The row, not the message, is the
    record of pending work: when the broker cannot be reached the generation
    stays queued and recovery sends the message later (recovery.py), so the
    create that committed it still succeeds instead of answering an error
    while its credits are held."""
    try:
        if delay:
            tasks.run_generation.schedule((str(generation_id), provider), delay=delay)
        else:
            tasks.run_generation(str(generation_id), provider)
    except Exception as exc:  # redis.ConnectionError, sqlite3.OperationalError, ...
        broker_log.warning(
            "queue unreachable (%s: %s); generation %s stays queued for recovery",
            type(exc).__name__,
            exc,
            generation_id,
        )


def size_for_aspect_ratio(*, provider: str | None, ratio: str) -> tuple[int, int]:
    """The pixels to ask for when the user chose an aspect ratio ("16:9") rather
    than a size: one of the provider's presets, never a silent change of a size
    the user typed. Raises InvalidRequest when the provider has none."""
    return get_provider(provider or default_provider_name()).capabilities.size_for(ratio)


class GenerationInFlight(Exception):
    pass


def generation_remix(
    *, user, source: Generation, seed: int | None, webhook_url: str = "", idempotency_key: str | None = None
) -> Generation:
    """A new generation with `source`'s parameters and the given seed (None: random)."""
    return generation_create(
        user=user,
        prompt=source.prompt,
        width=source.width,
        height=source.height,
        seed=seed,
        prompt_extend=source.prompt_extend,
        provider=None if source.route else source.provider,
        route=source.route or None,
        steps=source.steps,
        saved_prompt=source.saved_prompt,
        tags=[t.name for t in source.tags.all()],
        webhook_url=webhook_url,
        idempotency_key=idempotency_key,
    )


def generation_delete(*, generation: Generation) -> None:
    """Delete for good (the API's DELETE; the dashboard's delete goes to the
    trash first). Only finished generations: one in flight would be stored after."""
    from generations.lifecycle.library import generation_purge

    if not generation.is_finished:
        raise GenerationInFlight(
            "This generation is still in progress; cancel it first or wait for it to finish."
        )
    generation_purge(generation=generation)
