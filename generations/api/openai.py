"""`POST /v1/images/generations` and `GET /v1/models`, as the OpenAI Images API.

The request creates an ordinary generation (billed, on the site's default
provider), waits for it (at most OPENAI_WAIT_TIMEOUT seconds) and answers with
the stored copy: inline as b64_json, or a signed, expiring URL to it.

With OPENAI_INLINE (the default) the web process runs the provider call and
the copy itself, as a worker would (same claim, retries and recovery): the
client waits for the image in any case, so the queue hop would only add
latency. OPENAI_INLINE=0 queues it. The image is stored without a thumbnail;
one is made when a page first shows it (thumbnails.py).
"""

import base64
import time

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import Http404
from django.urls import reverse
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import pipeline, services
from ..models import Generation
from ..serving import serve_image
from .authentication import BearerTokenAuthentication
from .errors import ApiError, error_body, translate
from .serializers import SizeField
from .throttling import UserThrottle
from .views import idempotency_key

MODEL = "z-image-turbo"
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
    n = serializers.IntegerField(required=False, default=1)
    size = SizeField(required=False, default="1024x1024")
    response_format = serializers.ChoiceField(["url", "b64_json"], required=False, default="url")
    user = serializers.CharField(required=False, allow_blank=True)
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    parameters = ParametersSerializer(required=False)

    def validate_model(self, value):
        if value != MODEL:
            raise serializers.ValidationError(f"The model '{value}' does not exist; use '{MODEL}'.")
        return value

    def validate_n(self, value):
        if value != 1:
            raise serializers.ValidationError("Only n=1 is supported.")
        return value


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
        return {"message": f"Incorrect API key provided. {exc.detail}",
                "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}
    if isinstance(exc, exceptions.ValidationError):
        param, messages = next(iter(error_body(exc)["fields"].items()))
        return {"message": f"{param}: {messages[0]}", "type": "invalid_request_error",
                "param": param, "code": None}
    kind = KINDS.get(status_code, "server_error" if status_code >= 500 else "invalid_request_error")
    if isinstance(exc, ApiError):
        return {"message": str(exc.detail), "type": kind, "param": next(iter(exc.fields), None),
                "code": exc.code}
    return {"message": str(exc.detail), "type": kind, "param": None, "code": exc.default_code}


class ModelsView(OpenAIView):
    def get(self, request):
        return Response({"object": "list", "data": [
            {"id": MODEL, "object": "model", "created": 1764547200, "owned_by": "z-image-studio"}]})


class ImageGenerationsView(OpenAIView):
    def post(self, request):
        body = ImageRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        extras = data.get("parameters", {})
        seed = extras["seed"] if extras.get("seed") is not None else data.get("seed")
        width, height = data["size"]
        inline = settings.OPENAI_INLINE
        generation = services.generation_create(
            user=request.user, prompt=data["prompt"], width=width, height=height, seed=seed,
            prompt_extend=extras.get("prompt_extend", False),
            idempotency_key=idempotency_key(request), claim=inline)
        if inline and not generation.replayed:
            pipeline.generation_run_now(generation=generation)
            if generation.status != Generation.Status.SUCCEEDED:  # failed, or left to the queue
                generation.refresh_from_db()
        generation = wait_for_end(generation)
        item = {"revised_prompt": generation.rewritten_prompt or generation.prompt}
        if data["response_format"] == "b64_json":
            item["b64_json"] = base64.b64encode(image_data(generation)).decode()
        else:
            item["url"] = image_url(request, generation)
        return Response({"created": int(generation.created_at.timestamp()), "data": [item]})


def wait_for_end(generation: Generation) -> Generation:
    """Poll until the generation ends; raise an ApiError unless it succeeded."""
    deadline, interval = time.monotonic() + settings.OPENAI_WAIT_TIMEOUT, POLL_FIRST
    while not generation.is_finished and time.monotonic() < deadline:
        time.sleep(interval)
        interval = min(interval * POLL_GROWTH, POLL_MAX)
        generation.refresh_from_db()
    if generation.status == Generation.Status.SUCCEEDED:
        return generation
    if generation.status == Generation.Status.FAILED:
        internal = generation.error_code in ("InternalError", "WorkerLost", "StorageUnavailable")
        raise ApiError(500 if internal else 502, generation.error_code, generation.error_message)
    if services.generation_cancel(generation=generation):
        raise ApiError(504, "timeout", "No worker took the request in time; it was canceled "
                       "and nothing was charged.")
    raise ApiError(504, "timeout", f"The image was not ready in time; it is still being made as "
                   f"generation {generation.pk} (see /api/v1/generations/{generation.pk}/).")


def image_data(generation: Generation) -> bytes:
    """The stored image: as the inline run stored it (no read back from
    storage), or, run by a worker, a replay or larger, read from storage."""
    data = getattr(generation, "image_data", None)
    if data is None:
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
        pk = signing.TimestampSigner(salt=SIGNER_SALT).unsign(
            signed, max_age=settings.OPENAI_URL_MAX_AGE)
    except signing.BadSignature as exc:
        raise Http404("This link is invalid or has expired.") from exc
    generation = Generation.objects.filter(pk=pk, deleted_at__isnull=True).first()
    if generation is None:
        raise Http404("No such image.")
    return serve_image(generation)
