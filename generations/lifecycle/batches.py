"""Batches: many ordinary generations made by one request, paid for as a whole.

Each image keeps its own row, hold, settlement, storage and status; what the
batch adds is all-or-nothing: the images are validated, priced, checked
against the account's limits (counting images) and held in one transaction,
or none is. Items come from the REST API, a pasted or uploaded prompt list
(text, CSV or JSONL), n takes of one prompt, or a seed sweep.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from generations.billing import ledger, quotas
from generations.lifecycle import idempotency, routes, slots, status
from generations.lifecycle.services import generation_enqueue, generation_price, seed_pick
from generations.models import Batch, Generation
from generations.providers import InvalidRequest

Status = Generation.Status


@dataclass(frozen=True)
class BatchItem:
    """One image of a batch, as asked for."""

    prompt: str
    width: int
    height: int
    seed: int | None = None
    prompt_extend: bool = False


@dataclass(frozen=True)
class BatchQuote:
    provider: str
    images: int
    credits: int


def batch_max() -> int:
    return settings.BATCH_MAX_IMAGES


def items_repeat(
    *, prompt: str, width: int, height: int, n: int, seed: int | None = None, prompt_extend: bool = False
) -> list[BatchItem]:
    """`n` takes of one prompt: random seeds, or `seed`, seed+1, ... for a fixed start."""
    seeds = [None] * n if seed is None else [seed + i for i in range(n)]
    return [BatchItem(prompt, width, height, s, prompt_extend) for s in seeds]


def seeds_parse(text: str) -> list[int]:
    """A seed sweep's seeds: "1, 5, 9" or ranges "100-131" (both ends included)."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.replace("\n", ",").split(",")):
        if not part:
            continue
        low, sep, high = part.partition("-") if not part.startswith("-") else (part, "", "")
        try:
            first, last = (int(low), int(high)) if sep else (int(part), int(part))
        except ValueError:
            message = _("'%(part)s' is not a seed or a range of seeds like 100-131.") % {"part": part}
            raise InvalidRequest("seeds", message) from None
        if last < first:
            raise InvalidRequest("seeds", _("The range '%(part)s' runs backwards.") % {"part": part})
        if last - first >= batch_max() or len(seeds) + last - first >= batch_max():
            raise InvalidRequest(
                "seeds", _("A batch may hold at most %(max)d images.") % {"max": batch_max()}
            )
        seeds.extend(range(first, last + 1))
    if not seeds:
        raise InvalidRequest("seeds", _("Give at least one seed, e.g. 1, 2, 3 or 100-131."))
    return seeds


def items_parse(
    text: str, *, width: int, height: int, prompt_extend: bool = False, filename: str = ""
) -> list[BatchItem]:
    """A prompt list: plain text (one prompt a line; blank lines and lines
    starting with # skipped), CSV with a header row, or JSONL (one object a
    line). CSV and JSONL lines may set `size` ("1024x768") or `width` and
    `height`, `seed` and `prompt_extend`; the rest comes from the form.
    Raises InvalidRequest naming the line."""
    lines = text.lstrip("\ufeff").splitlines()
    first = next((line.strip() for line in lines if line.strip()), "")
    kind = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if kind == "jsonl" or first.startswith("{"):
        rows = _jsonl_rows(lines)
    elif kind == "csv" or (first.lower().startswith("prompt") and "," in first):
        rows = _csv_rows(text.lstrip("\ufeff"))
    else:
        rows = [
            (n, {"prompt": line.strip()})
            for n, line in enumerate(lines, 1)
            if line.strip() and not line.lstrip().startswith("#")
        ]
    defaults = {"width": width, "height": height, "prompt_extend": prompt_extend}
    items = [_item(n, row, defaults) for n, row in rows]
    if not items:
        raise InvalidRequest("prompts", _("The list holds no prompts: one prompt a line."))
    return items


def _jsonl_rows(lines: list[str]) -> list[tuple[int, dict]]:
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise InvalidRequest("prompts", _("Line %(n)d is not a JSON object.") % {"n": n}) from None
        if not isinstance(row, dict):
            raise InvalidRequest("prompts", _("Line %(n)d is not a JSON object.") % {"n": n})
        rows.append((n, row))
    return rows


def _csv_rows(text: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text))
    if "prompt" not in [(name or "").strip().lower() for name in reader.fieldnames or []]:
        raise InvalidRequest("prompts", _("The CSV file needs a header row with a 'prompt' column."))
    return [
        (reader.line_num, {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()})
        for row in reader
        if any((v or "").strip() for v in row.values())
    ]


def _item(n: int, row: dict, defaults: dict) -> BatchItem:
    """One line's item, its blanks filled from `defaults`."""
    values = {**defaults, **{k: v for k, v in row.items() if v not in ("", None)}}
    prompt = str(values.get("prompt") or "").strip()
    if not prompt:
        raise InvalidRequest("prompts", _("Line %(n)d has no prompt.") % {"n": n})
    try:
        if "size" in values:
            width, height = (int(v) for v in str(values["size"]).lower().split("x"))
        else:
            width, height = int(values["width"]), int(values["height"])
        seed = None if values.get("seed") is None else int(values["seed"])
    except (TypeError, ValueError):
        raise InvalidRequest(
            "prompts", _("Line %(n)d: size must look like 1024x768 and seed be a whole number.") % {"n": n}
        ) from None
    extend = values.get("prompt_extend", False)
    if isinstance(extend, str):
        extend = extend.strip().lower() in ("1", "true", "yes", "y")
    return BatchItem(prompt, width, height, seed, bool(extend))


def batch_quote(*, items: list[BatchItem], provider: str | None) -> BatchQuote:
    """Validate every item against the provider and price the whole batch.
    Raises InvalidRequest naming the first bad item; touches nothing."""
    return _priced(items, provider)[0]


def _priced(
    items: list[BatchItem], provider: str | None, route: str | None = None
) -> tuple[BatchQuote, list[tuple]]:
    if not items:
        raise InvalidRequest("items", _("A batch needs at least one image."))
    if len(items) > batch_max():
        raise InvalidRequest(
            "items",
            _("A batch may hold at most %(max)d images; this one has %(count)d. Split it.")
            % {"max": batch_max(), "count": len(items)},
        )
    priced = []
    for number, item in enumerate(items, 1):
        try:
            chosen, price = generation_price(provider=provider, route=route, steps=None, **asdict(item))
        except InvalidRequest as exc:
            prefix = _("Image %(n)d: ") % {"n": number} if len(items) > 1 else ""
            raise InvalidRequest(exc.field, prefix + exc.message) from None
        priced.append((item, chosen, price))
    name = priced[0][1].name
    return BatchQuote(name, len(items), sum(price.credits for *_ignored, price in priced)), priced


def _fingerprint(items: list[BatchItem], provider: str | None, name: str, webhook_url: str, via: str) -> str:
    body = {
        "items": [asdict(i) for i in items],
        "provider": provider,
        "name": name,
        "webhook": webhook_url,
        "via": via,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _retry_match(user, fingerprint: str) -> Batch | None:
    """For a request its client says is a retry but which carries no key (the
    OpenAI SDK's retries, as idempotency.retry_match for one image): the newest
    batch of the same request made within RETRY_MATCH_WINDOW none of whose
    images an answer has reached yet."""
    since = timezone.now() - timedelta(seconds=settings.RETRY_MATCH_WINDOW)
    match = (
        Batch.objects.filter(owner=user, request_fingerprint=fingerprint, created_at__gte=since)
        .exclude(generations__answered_at__isnull=False)
        .order_by("-created_at")
        .first()
    )
    if match is not None:
        match.replayed = True
    return match


def batch_create(
    *,
    user,
    items: list[BatchItem],
    provider: str | None = None,
    route: str | None = None,
    name: str = "",
    webhook_url: str = "",
    idempotency_key: str | None = None,
    retried: bool = False,
    via: str = "",
) -> Batch:
    """Validate, price, check the limits for every image, insert the batch and
    its generations and hold all their credits in one transaction, then wake
    the workers. Raises InvalidRequest, quotas.LimitExceeded or
    ledger.InsufficientCredits (naming how many images the balance covers),
    writing nothing. A repeat with the same Idempotency-Key returns the first
    batch (`replayed`); so does a `retried` request without a key, as for a
    single create (`via`: the entry point, whose requests are told apart)."""
    route, target = routes.route_target(provider, route)
    fingerprint = _fingerprint(items, target, name, webhook_url, via)
    if replay := idempotency.replay(user=user, key=idempotency_key, fingerprint=fingerprint, rows=Batch):
        return replay
    if retried and not idempotency_key and (replay := _retry_match(user, fingerprint)):
        return replay
    quote, priced = _priced(items, provider, route)
    batch = Batch(
        owner=user, name=name[:200], idempotency_key=idempotency_key or None, request_fingerprint=fingerprint
    )
    now = timezone.now()
    generations = [
        Generation(
            owner=user,
            batch=batch,
            batch_index=index,
            created_at=now,
            prompt=item.prompt,
            width=item.width,
            height=item.height,
            seed=item.seed,
            seed_used=seed_pick(item.seed, chosen.capabilities.seed_range),
            prompt_extend=item.prompt_extend,
            provider=chosen.name,
            route=route,  # no provider named: each image may fall back
            credits_cost=price.credits,
            provider_price=price.provider_cost,
            webhook_url=webhook_url,
        )
        for index, (item, chosen, price) in enumerate(priced)
    ]
    with transaction.atomic():
        payers = ledger.payers_locked(user)
        if replay := idempotency.replay(user=user, key=idempotency_key, fingerprint=fingerprint, rows=Batch):
            # a racing retry, serialized by the account lock
            return replay
        own = next(a for a in payers if a.user_id == user.pk)
        quotas.quota_check_create(
            user=user, account=own, provider=quote.provider, cost=quote.credits, images=quote.images
        )
        batch.save(force_insert=True)
        Generation.objects.bulk_create(generations)
        ledger.hold_many(generations=generations, locked=payers)
    transaction.on_commit(lambda: _wake_all(generations))
    batch.replayed = False
    return batch


def _wake_all(generations: list[Generation]) -> None:
    """Wake each provider the batch's images start on (a weighted route spreads them)."""
    by_provider: dict[str, list[Generation]] = {}
    for generation in generations:
        by_provider.setdefault(generation.provider, []).append(generation)
    for provider, mine in by_provider.items():
        _wake(provider, mine)


def _wake(provider: str, generations: list[Generation]) -> None:
    """One wake-up serves a provider with a call limit (its workers fill the
    free slots and go on in fair order); without a limit every image gets its
    own message, as a single create does."""
    if slots.slot_limit(provider):
        generation_enqueue(generations[0].pk, provider=provider)
        return
    for generation in generations:
        generation_enqueue(generation.pk, provider=provider)


def batch_cancel(*, batch: Batch) -> dict[str, int]:
    """Cancel the rest: queued images end canceled and refunded now, running
    ones when their provider answers; finished ones stay. Counts by outcome."""
    outcomes: Counter = Counter()
    for generation in batch.generations.filter(status__in=[Status.QUEUED, Status.RUNNING]):
        outcomes[status.generation_cancel(generation=generation) or "too_late"] += 1
    return dict(outcomes)


@dataclass(frozen=True)
class Progress:
    total: int
    queued: int
    running: int
    succeeded: int
    failed: int
    canceled: int
    credits: int  # held or spent: refunded images are not counted

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.canceled

    @property
    def finished(self) -> bool:
        return self.done == self.total


def with_progress(batches):
    """`batches` (a queryset) with each one's counts by status and credits
    annotated, in the one query that lists them, newest first (a grouped query
    drops the model's ordering)."""

    def count(*statuses):
        return Count("generations", filter=Q(generations__status__in=statuses))

    refunded = Q(generations__status__in=[Status.FAILED, Status.CANCELED])
    return batches.annotate(
        n_total=Count("generations"),
        n_queued=count(Status.QUEUED),
        n_running=count(Status.RUNNING, Status.STORING),
        n_succeeded=count(Status.SUCCEEDED),
        n_failed=count(Status.FAILED),
        n_canceled=count(Status.CANCELED),
        n_credits=Coalesce(Sum("generations__credits_cost", filter=~refunded), 0),
    ).order_by("-created_at", "-pk")


def batch_progress(batch: Batch) -> Progress:
    """Counts by status (annotated by `with_progress`, or read now)."""
    if not hasattr(batch, "n_total"):
        batch = with_progress(Batch.objects.filter(pk=batch.pk)).get()
    # The annotations with_progress adds, one per Progress field.
    return Progress(**{name: getattr(batch, f"n_{name}") for name in Progress.__dataclass_fields__})


def batch_images(batch: Batch):
    """The batch's generations in their order (as asked for)."""
    return batch.generations.filter(purged_at=None).order_by("batch_index")


def batch_archive(batch: Batch):
    """Download all: the batch's stored images as one streamed ZIP."""
    from generations.images.archive import zip_response

    stored = batch_images(batch).filter(status=Status.SUCCEEDED, deleted_at=None)
    return zip_response(stored, filename=f"{_slug(batch)}.zip")


def _slug(batch: Batch) -> str:
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in batch.name.strip())[:60].strip("-")
    return name or f"batch-{str(batch.pk)[:8]}"
