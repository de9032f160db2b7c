"""The dashboard's workflows around finished images: trash, tags,
collections, saved prompts and sharing. Generation itself is in services."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from generations.models import Collection, Generation, Prompt, Tag
from generations.runtime.dbconn import connection_release_idle


def last_seed(*, user) -> int | None:
    """The seed of the user's newest generation, for "reuse the last seed"."""
    row = Generation.objects.owned_by(user).exclude(seed_used=None).values("seed_used").first()
    return row["seed_used"] if row else None


def generation_trash(*, generation: Generation) -> None:
    Generation.objects.filter(pk=generation.pk, deleted_at=None).update(deleted_at=timezone.now())


def generations_trash(*, generations) -> int:
    """Move many to the trash at once (a queryset already scoped to one owner);
    returns how many were moved."""
    return generations.filter(deleted_at=None).update(deleted_at=timezone.now())


def generation_restore(*, generation: Generation) -> bool:
    """Out of the trash, unless already purged (its files are gone)."""
    return bool(Generation.objects.filter(pk=generation.pk, purged_at=None).update(deleted_at=None))


def generation_purge(*, generation: Generation) -> None:
    """Remove a finished generation's files for good and hide it everywhere.
    The row stays because the credit ledger refers to it; its idempotency key
    is freed so a client may reuse it."""
    connection_release_idle()  # deleting from storage: no connection held meanwhile
    for field in (generation.image, generation.thumbnail):
        if field.name:
            default_storage.delete(field.name)
    now = timezone.now()
    Generation.objects.filter(pk=generation.pk, deleted_at=None).update(deleted_at=now)
    Generation.objects.filter(pk=generation.pk).update(
        purged_at=now, image="", thumbnail="", public_token=None, idempotency_key=None
    )


def trash_purge(*, user=None, older_than: timedelta | None = None) -> int:
    """Remove the files of trashed generations for good. Only finished ones:
    one still in flight would be stored after. The row stays (hidden) because
    the credit ledger refers to it. Returns how many were purged."""
    rows = Generation.objects.exclude(deleted_at=None).filter(purged_at=None, status__in=Generation.FINISHED)
    if user is not None:
        rows = rows.owned_by(user)
    if older_than is not None:
        rows = rows.filter(deleted_at__lt=timezone.now() - older_than)
    count = 0
    # The ids first: a cursor kept open over the storage deletes would hold its connection.
    for pk in list(rows.values_list("pk", flat=True)):
        if generation := rows.filter(pk=pk).first():
            generation_purge(generation=generation)
            count += 1
    return count


def trash_retention() -> timedelta:
    return timedelta(days=settings.TRASH_DAYS)


def parse_tags(text: str) -> list[str]:
    """ "cat, 夜景 , cat" -> ["cat", "夜景"]: comma separated, trimmed, unique."""
    names = [name.strip()[:60] for name in text.replace("，", ",").split(",")]
    return list(dict.fromkeys(name for name in names if name))


def tags_get_or_create(*, user, names: list[str]) -> list[Tag]:
    return [Tag.objects.get_or_create(owner=user, name=name)[0] for name in names]


def generation_tag(*, generation: Generation, user, text: str) -> None:
    generation.tags.add(*tags_get_or_create(user=user, names=parse_tags(text)))


@transaction.atomic
def prompt_save(*, user, text: str, title: str = "", tags: str = "", prompt: Prompt | None = None) -> Prompt:
    """Create a saved prompt, or update `prompt` (already checked to be the user's)."""
    prompt = prompt or Prompt(owner=user)
    prompt.text, prompt.title = text, title
    prompt.save()
    prompt.tags.set(tags_get_or_create(user=user, names=parse_tags(tags)))
    return prompt


def prompt_save_from(*, user, generation: Generation) -> Prompt:
    """Save a generation's prompt with its settings (provider, size, seed used,
    prompt rewriting), so that "Use" refills the whole Generate form."""
    prompt = Prompt.objects.create(
        owner=user,
        text=generation.prompt,
        title=generation.prompt[:60],
        provider=generation.provider,
        width=generation.width,
        height=generation.height,
        seed=generation.seed_used,
        prompt_extend=generation.prompt_extend,
    )
    prompt.tags.set(tags_get_or_create(user=user, names=[t.name for t in generation.tags.owned_by(user)]))
    return prompt


def collection_add(
    *, user, generation: Generation, collection: Collection | None = None, new_name: str = ""
) -> Collection:
    """Add to an existing collection of the user's, or to a new one named `new_name`."""
    if collection is None:
        collection, _ = Collection.objects.get_or_create(owner=user, name=new_name.strip()[:120])
    collection.generations.add(generation)
    return collection


def collection_add_all(
    *, user, generations, collection: Collection | None = None, new_name: str = ""
) -> Collection:
    """`collection_add` for many generations (already scoped to `user`) in one go."""
    if collection is None:
        collection, _ = Collection.objects.get_or_create(owner=user, name=new_name.strip()[:120])
    collection.generations.add(*generations)
    return collection


def share_link_create(*, item: Generation | Collection) -> str:
    """An unguessable token (256 bits); a new one replaces any earlier link."""
    item.public_token = secrets.token_urlsafe(32)
    item.save(update_fields=["public_token"])
    return item.public_token


def share_link_revoke(*, item: Generation | Collection) -> None:
    item.public_token = None
    item.save(update_fields=["public_token"])


def share_with_team(*, item: Generation | Collection, shared: bool) -> None:
    item.shared_with_team = shared
    item.save(update_fields=["shared_with_team"])
