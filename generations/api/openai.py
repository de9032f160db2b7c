"""`POST /v1/images/generations` and `GET /v1/models`, as the OpenAI Images API.

The request creates an ordinary generation (billed, on the route `model`
names, or on one provider for `z-image-turbo@<provider>`), waits for it (at
most OPENAI_WAIT_TIMEOUT seconds) and answers with the stored copy: inline
as b64_json, or a signed, expiring URL to it.

With OPENAI_INLINE (the default) the web process runs the provider call and
the copy itself, as a worker would (same claim, retries and recovery): the
client waits for the image in any case, so the queue hop would only add
latency. OPENAI_INLINE=0 queues it. The image is stored without a thumbnail;
one is made when a page first shows it (thumbnails.py).
"""

import base64
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from generations.api.authentication import BearerTokenAuthentication
from generations.api.errors import ApiError, error_body, translate
from generations.api.serializers import SizeField
from generations.api.throttling import UserThrottle
from generations.api.views import idempotency_key
from generations.billing import ledger
from generations.images.serving import serve_image
from generations.lifecycle import batches, pipeline, routes, services, status
from generations.models import Generation
from generations.providers import InvalidRequest
from generations.providers.registry import available_providers
from generations.runtime.dbconn import connection_release_idle

MODEL = "z-image-turbo"
MAX_N = 10  # as OpenAI's own API allows
SIGNER_SALT = "generations.openai.image-url"
# Polling starts fast and backs off: a quick image is answered within a few
# ms of being stored, a slow one costs a query every quarter second at most.
POLL_FIRST, POLL_GROWTH, POLL_MAX = 0.002, 1.2, 0.25


class ParametersSerializer(serializers.Serializer):
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    prompt_extend = serializers.BooleanField(required=False, default=False)


class ImageRequestSerializer(serializers.Serializer):
    model = serializers.CharField(required=False, default=MODEL)
    prompt = serializers.CharField(max_length=10_000)
    n = serializers.IntegerField(required=False, default=1, min_value=1, max_value=MAX_N)
    size = SizeField(required=False, default="1024x1024")
    response_format = serializers.ChoiceField(["url", "b64_json"], required=False, default="url")
    user = serializers.CharField(required=False, allow_blank=True)
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    parameters = ParametersSerializer(required=False)

    def validate_model(self, value):
        try:
            model_route(value)
        except InvalidRequest:
            raise serializers.ValidationError(
                _("The model '%(model)s' does not exist; GET /v1/models lists those you may use.")
                % {"model": value}
            ) from None
        return value


def model_route(model: str) -> tuple[str | None, str | None]:
    """(route, provider) a `model` asks for: a route's name, or
    `z-image-turbo@<provider>` for that provider alone (no fallback).
    Raises InvalidRequest for a model that is neither."""
    base, _at, provider = model.partition("@")
    if provider:
        if base != MODEL or provider not in {p.name for p in available_providers()}:
            raise InvalidRequest("model", f"Unknown model '{model}'.")
        return None, provider
    if model not in routes.route_names():
        raise InvalidRequest("model", f"Unknown model '{model}'.")
    return model, None


def models_for(user) -> list[str]:
    """The models `user` may ask for: every route, then each usable provider
    their account allows as `z-image-turbo@<provider>`."""
    account = ledger.account_for(user)
    allowed = [p.name for p in available_providers() if account.allows_provider(p.name)]
    return [*routes.route_names(), *(f"{MODEL}@{name}" for name in allowed)]


class OpenAIView(APIView):
    """Bearer tokens only, and errors in OpenAI's shape."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [UserThrottle]
    schema = None  # documented by OpenAI's own API reference, see docs/api.md

    def handle_exception(self, exc):
        exc = translate(exc)
        response = super().handle_exception(exc)
        response.data = {"error": openai_error(exc, response.status_code)}
        return response


KINDS = {402: "insufficient_quota", 429: "rate_limit_exceeded"}


def openai_error(exc: exceptions.APIException, status_code: int) -> dict:
    """An API error in OpenAI's shape: {message, type, param, code}."""
    if status_code == 401:
        return {
            "message": f"Incorrect API key provided. {exc.detail}",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    if isinstance(exc, exceptions.ValidationError):
        param, messages = next(iter(error_body(exc)["fields"].items()))
        return {
            "message": f"{param}: {messages[0]}",
            "type": "invalid_request_error",
            "param": param,
            "code": None,
        }
    kind = KINDS.get(status_code, "server_error" if status_code >= 500 else "invalid_request_error")
    if isinstance(exc, ApiError):
        return {
            "message": str(exc.detail),
            "type": kind,
            "param": next(iter(exc.fields), None),
            "code": exc.code,
        }
    return {"message": str(exc.detail), "type": kind, "param": None, "code": exc.default_code}


class ModelsView(OpenAIView):
    def get(self, request):
        return Response(
            {
                "object": "list",
                "data": [
                    {"id": name, "object": "model", "created": 1764547200, "owned_by": "z-image-studio"}
                    for name in models_for(request.user)
                ],
            }
        )


class ImageGenerationsView(OpenAIView):
    def post(self, request):
        body = ImageRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        answer_until = time.monotonic() + client_wait(request)
        with waiting_slot():
            if data["n"] == 1:
                made = [self.generation(request, data, answer_until=answer_until)]
            else:
                made = self.batch(request, data)
        if made[0].answered_at is None and time.monotonic() < answer_until:
            Generation.objects.filter(pk__in=[g.pk for g in made], answered_at=None).update(
                answered_at=timezone.now()
            )
        return self.answer(request, data, made)

    def generation(self, request, data: dict, *, answer_until: float) -> Generation:
        """Create (or, for a retry, find) the generation and wait for its end.
        A request its client marks as a retry (the SDK's retry counter) and
        that has no Idempotency-Key is answered with the image its earlier
        try made, so an SDK retrying a timeout is not charged twice. An image
        made here and stored before `answer_until` is marked answered by its
        success; one made by a worker or replayed, by `post`."""
        deadline = time.monotonic() + settings.OPENAI_WAIT_TIMEOUT
        extras = data.get("parameters", {})
        seed = extras["seed"] if extras.get("seed") is not None else data.get("seed")
        width, height = data["size"]
        inline = settings.OPENAI_INLINE
        route, provider = model_route(data["model"])
        generation = services.generation_create(
            user=request.user,
            route=route,
            provider=provider,
            prompt=data["prompt"],
            width=width,
            height=height,
            seed=seed,
            prompt_extend=extras.get("prompt_extend", False),
            idempotency_key=idempotency_key(request),
            claim=inline,
            retried=is_retry(request),
            via="openai",
        )
        if inline and not generation.replayed:
            generation.answer_until = answer_until
            pipeline.generation_run_now(generation=generation)
            if generation.status != Generation.Status.SUCCEEDED:  # failed, or left to the queue
                generation.refresh_from_db()
        return wait_for_end(generation, deadline=deadline)

    def batch(self, request, data: dict) -> list[Generation]:
        """n > 1: the images as a batch (all held at once, or 402 naming how
        many the balance covers), made by the workers side by side; wait for
        every one. Those made in time are the answer; the rest are canceled
        and refunded. None made: the first one's error."""
        deadline = time.monotonic() + settings.OPENAI_WAIT_TIMEOUT
        extras = data.get("parameters", {})
        width, height = data["size"]
        route, provider = model_route(data["model"])
        batch = batches.batch_create(
            user=request.user,
            route=route,
            provider=provider,
            items=batches.items_repeat(
                prompt=data["prompt"],
                width=width,
                height=height,
                n=data["n"],
                seed=extras["seed"] if extras.get("seed") is not None else data.get("seed"),
                prompt_extend=extras.get("prompt_extend", False),
            ),
            idempotency_key=idempotency_key(request),
            retried=is_retry(request),
            via="openai",
        )
        made = list(batches.batch_images(batch))
        for _poll in polls(deadline) if not all(g.is_finished for g in made) else ():
            made = list(batches.batch_images(batch))
            if all(g.is_finished for g in made):
                break
        succeeded = [g for g in made if g.status == Generation.Status.SUCCEEDED]
        if not batch.replayed and len(succeeded) < len(made):
            batches.batch_cancel(batch=batch)
        if succeeded:
            return succeeded
        if failed := next((g for g in made if g.status == Generation.Status.FAILED), None):
            raise failure(failed)
        raise ApiError(
            504,
            "timeout",
            _("The images were not ready in time; they were canceled and nothing was charged."),
        )

    def answer(self, request, data: dict, made: list[Generation]) -> Response:
        """The images, inline or as signed links (bearer secrets: not cached),
        each with the seed it was made with (an extra field SDKs keep)."""
        items = []
        for generation in made:
            item = {"revised_prompt": generation.rewritten_prompt or generation.prompt}
            if data["response_format"] == "b64_json":
                item["b64_json"] = base64.b64encode(image_data(generation)).decode()
            else:
                item["url"] = image_url(request, generation)
            item["seed"] = generation.seed_used
            items.append(item)
        response = Response({"created": int(made[0].created_at.timestamp()), "data": items})
        response["Cache-Control"] = "no-store"
        return response


def client_wait(request) -> float:
    """How long the answer can still reach its client: the SDK sends how long
    it waits (X-Stainless-Read-Timeout); past that it has given up and will
    retry, and its retry must get this image. Such an image is not marked
    answered; one that reaches its client is, so that another request's retry
    never gets it (idempotency.retry_match)."""
    try:
        return float(request.headers.get("X-Stainless-Read-Timeout", "inf"))
    except ValueError:
        return float("inf")


def is_retry(request) -> bool:
    try:
        return int(request.headers.get("X-Stainless-Retry-Count", "0")) > 0
    except ValueError:
        return False


_waiting: threading.BoundedSemaphore | None = None
_waiting_made = threading.Lock()


@contextmanager
def waiting_slot():
    """One of OPENAI_MAX_WAITING places for a request waiting on an image in
    this process; with none free, 429 at once (the SDK retries after
    Retry-After) rather than one more thread taken from other requests."""
    global _waiting
    with _waiting_made:
        if _waiting is None:
            _waiting = threading.BoundedSemaphore(settings.OPENAI_MAX_WAITING)
    if not _waiting.acquire(blocking=False):
        raise exceptions.Throttled(
            wait=BUSY_RETRY_AFTER,
            detail=_("This server is making as many images as it waits for at once; retry shortly."),
        )
    try:
        yield
    finally:
        _waiting.release()


BUSY_RETRY_AFTER = 2


def polls(deadline: float):
    """Yield when it is time to look again, until `deadline` (time.monotonic):
    the first look soon, later ones backing off, no database connection held
    while waiting."""
    interval = POLL_FIRST
    while time.monotonic() < deadline:
        connection_release_idle()
        time.sleep(interval)
        interval = min(interval * POLL_GROWTH, POLL_MAX)
        yield


def failure(generation: Generation) -> ApiError:
    """A failed generation's error for its caller: 500 for the site's own, 502 for the provider's."""
    internal = generation.error_code in ("InternalError", "WorkerLost", "StorageUnavailable")
    return ApiError(500 if internal else 502, generation.error_code, generation.error_message)


def wait_for_end(generation: Generation, *, deadline: float) -> Generation:
    """Poll until the generation ends or `deadline` (time.monotonic) passes;
    raise an ApiError unless it succeeded. No database connection is held
    between looks."""
    if not generation.is_finished:
        for _poll in polls(deadline):
            generation.refresh_from_db()
            if generation.is_finished:
                break
    if generation.status == Generation.Status.SUCCEEDED:
        return generation
    if generation.status == Generation.Status.FAILED:
        raise failure(generation)
    # A retry waits on another request's generation: that one's to cancel, not this one's.
    if not generation.replayed and status.generation_cancel(generation=generation):
        raise ApiError(
            504,
            "timeout",
            _("No worker took the request in time; it was canceled and nothing was charged."),
        )
    raise ApiError(
        504,
        "timeout",
        _(
            "The image was not ready in time; it is still being made as "
            "generation %(id)s (see /api/v1/generations/%(id)s/)."
        )
        % {"id": generation.pk},
    )


def image_data(generation: Generation) -> bytes:
    """The stored image: as the inline run stored it (no read back from
    storage), or, run by a worker, a replay or larger, read from storage."""
    data = getattr(generation, "image_data", None)
    if data is None:
        connection_release_idle()
        with default_storage.open(generation.image.name, "rb") as f:
            data = f.read()
    return data


def image_url(request, generation: Generation) -> str:
    """S3: a presigned URL. Local storage: a signed, expiring link to the file view."""
    if settings.STORAGE_BACKEND == "s3":
        return default_storage.url(generation.image.name, expire=settings.OPENAI_URL_MAX_AGE)
    signed = signing.TimestampSigner(salt=SIGNER_SALT).sign(str(generation.pk))
    return request.build_absolute_uri(reverse("openai-image", args=[signed]))


def signed_image(request, signed: str):
    """Serve an image to whoever holds a valid link: no session, no token."""
    try:
        pk = signing.TimestampSigner(salt=SIGNER_SALT).unsign(signed, max_age=settings.OPENAI_URL_MAX_AGE)
    except signing.BadSignature as exc:
        raise Http404(_("This link is invalid or has expired.")) from exc
    generation = Generation.objects.filter(pk=pk, deleted_at__isnull=True).first()
    if generation is None:
        raise Http404(_("No such image."))
    return serve_image(generation)
