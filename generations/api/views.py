"""Generations over REST: thin views over `generations.lifecycle.services`."""

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from generations.api.errors import ApiError
from generations.api.serializers import (
    GenerationCreateSerializer,
    GenerationFilterSerializer,
    GenerationSerializer,
    RemixSerializer,
)
from generations.images.serving import serve_image, serve_thumbnail
from generations.lifecycle import services
from generations.lifecycle.status import generation_cancel
from generations.models import Generation, Tag

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key and body within 24 hours returns the first "
    "generation and holds no more credits; a different body is refused (422).",
)
ERRORS = {
    code: OpenApiResponse(description=text)
    for code, text in {
        400: "Invalid parameters, with `fields`",
        401: "Not authenticated",
        402: "Not enough credits (nothing was written)",
        404: "No such generation",
        409: "Conflict with the generation's state",
        422: "Idempotency-Key reused for another body",
        429: "Too many requests or generations in progress",
    }.items()
}
CREATE_EXAMPLE = OpenApiExample(
    "A portrait with a fixed seed",
    request_only=True,
    value={
        "prompt": "A watercolor fox in a snowy birch forest, morning light",
        "size": "1024x1536",
        "seed": 42,
        "prompt_extend": False,
        "tags": ["foxes"],
        "webhook_url": "https://example.com/hooks/zimage",
    },
)


def idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200:
        raise ApiError(
            400,
            "invalid",
            _("Idempotency-Key is longer than 200 characters."),
            {"Idempotency-Key": [_("At most 200 characters.")]},
        )
    return key or None


def created(generation: Generation, context: dict) -> Response:
    """202 for a new generation; 200 for a replay of an idempotent request."""
    code = status.HTTP_200_OK if generation.replayed else status.HTTP_202_ACCEPTED
    return Response(GenerationSerializer(generation, context=context).data, status=code)


class GenerationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = GenerationSerializer
    queryset = Generation.objects.none()  # typing for the schema; get_queryset scopes

    def get_queryset(self):
        tags = Prefetch("tags", queryset=Tag.objects.only("name"))
        return Generation.objects.owned_by(self.request.user).live().prefetch_related(tags, "attempt_records")

    @extend_schema(parameters=[GenerationFilterSerializer], summary="Your generations, newest first")
    def list(self, request, *args, **kwargs):
        filters = GenerationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(filters.filter(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=GenerationCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        examples=[CREATE_EXAMPLE],
        summary="Create a generation",
        responses={202: GenerationSerializer, 200: GenerationSerializer, **ERRORS},
    )
    def create(self, request):
        body = GenerationCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        generation = services.generation_create(
            user=request.user, idempotency_key=idempotency_key(request), **body.service_kwargs()
        )
        return created(generation, self.get_serializer_context())

    @extend_schema(
        responses={204: None, 404: ERRORS[404], 409: ERRORS[409]},
        summary="Delete a finished generation and its files",
    )
    def destroy(self, request, pk=None):
        services.generation_delete(generation=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: GenerationSerializer, 404: ERRORS[404], 409: ERRORS[409]},
        summary="Cancel a queued generation (credits are returned)",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        generation = self.get_object()
        if not generation_cancel(generation=generation):
            raise ApiError(
                409,
                "not_cancelable",
                _("Only a queued generation can be canceled; this one is %(status)s.")
                % {"status": generation.status},
            )
        generation.refresh_from_db()
        return Response(self.get_serializer(generation).data)

    @extend_schema(
        request=RemixSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={202: GenerationSerializer, 200: GenerationSerializer, **ERRORS},
        summary="A new generation with the same parameters",
    )
    @action(detail=True, methods=["post"])
    def remix(self, request, pk=None):
        source = self.get_object()
        body = RemixSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        generation = services.generation_remix(
            user=request.user,
            source=source,
            seed=body.validated_data.get("seed", source.seed_used),
            webhook_url=body.validated_data.get("webhook_url", ""),
            idempotency_key=idempotency_key(request),
        )
        return created(generation, self.get_serializer_context())

    @extend_schema(
        responses={
            (200, "image/*"): OpenApiResponse(description="The image file"),
            302: OpenApiResponse(description="Redirect to a signed URL"),
            404: ERRORS[404],
        },
        summary="The stored image",
    )
    @action(detail=True, methods=["get"])
    def image(self, request, pk=None):
        generation = self.get_object()
        return serve_image(generation)

    @extend_schema(
        responses={
            (200, "image/*"): OpenApiResponse(
                description="The WebP thumbnail (made on this "
                "first request where the image was stored "
                "without one); the image itself if it "
                "cannot be made"
            ),
            302: OpenApiResponse(description="Redirect to a signed URL"),
            404: ERRORS[404],
        },
        summary="The stored thumbnail",
    )
    @action(detail=True, methods=["get"])
    def thumbnail(self, request, pk=None):
        return serve_thumbnail(self.get_object())
