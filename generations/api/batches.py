"""Batches over REST: create many images at once, follow their progress,
list them, cancel the rest and download them all as one ZIP. Thin views over
`generations.lifecycle.batches`."""

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from generations.api.serializers import GenerationSerializer, SizeField, WebhookUrlField, absolute
from generations.api.views import ERRORS, IDEMPOTENCY_HEADER, idempotency_key
from generations.lifecycle import batches
from generations.lifecycle.batches import BatchItem
from generations.models import Batch


class BatchItemSerializer(serializers.Serializer):
    prompt = serializers.CharField(max_length=10_000)
    size = SizeField(required=False, help_text="WIDTHxHEIGHT; the batch's size when absent")
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**63 - 1)
    prompt_extend = serializers.BooleanField(required=False)


class BatchCreateSerializer(serializers.Serializer):
    """Either `items` (each its own prompt and, optionally, size, seed and
    prompt_extend), or one `prompt` with `n` takes (random seeds, or `seed`,
    seed+1, ...) or a list of `seeds` (a seed sweep)."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    provider = serializers.CharField(required=False, allow_null=True, max_length=40)
    size = SizeField(default="1024x1024", help_text="WIDTHxHEIGHT for items that give none")
    prompt_extend = serializers.BooleanField(default=False)
    items = BatchItemSerializer(many=True, required=False)
    prompt = serializers.CharField(required=False, max_length=10_000)
    n = serializers.IntegerField(required=False, min_value=1)
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**63 - 1)
    seeds = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=2**63 - 1), required=False
    )
    webhook_url = WebhookUrlField(help_text="POSTed each image's final state when it ends")

    def validate(self, attrs):
        given = [name for name in ("items", "prompt") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"items": _("Give either items, or a prompt with n or seeds (not both).")}
            )
        if attrs.get("prompt") and ("n" in attrs) == ("seeds" in attrs):
            raise serializers.ValidationError({"n": _("With a prompt, give n (how many images) or seeds.")})
        # Also checked by batch_create, but here before a huge `n` is built into items.
        count = len(attrs.get("items") or attrs.get("seeds") or []) or attrs.get("n", 0)
        if count > batches.batch_max():
            raise serializers.ValidationError(
                {
                    "items": _("A batch may hold at most %(max)d images; this one has %(count)d.")
                    % {"max": batches.batch_max(), "count": count}
                }
            )
        return attrs

    def batch_items(self) -> list[BatchItem]:
        data = self.validated_data
        width, height = data["size"]
        extend = data["prompt_extend"]
        if data.get("items"):
            return [
                BatchItem(
                    item["prompt"],
                    *item.get("size", (width, height)),
                    item.get("seed"),
                    item.get("prompt_extend", extend),
                )
                for item in data["items"]
            ]
        if "seeds" in data:
            return [BatchItem(data["prompt"], width, height, seed, extend) for seed in data["seeds"]]
        return batches.items_repeat(
            prompt=data["prompt"],
            width=width,
            height=height,
            n=data["n"],
            seed=data.get("seed"),
            prompt_extend=extend,
        )


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    queued = serializers.IntegerField()
    running = serializers.IntegerField(help_text="Running or being stored")
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    canceled = serializers.IntegerField()
    done = serializers.IntegerField()
    finished = serializers.BooleanField(help_text="Every image has ended")
    credits = serializers.IntegerField(help_text="Held or spent: failed and canceled images are refunded")


class BatchSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = ["id", "name", "created_at", "progress", "links"]
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, obj) -> dict:
        progress = batches.batch_progress(obj)
        return ProgressSerializer(progress).data

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                name: {"type": "string", "format": "uri"}
                for name in ("detail", "generations", "cancel", "download")
            },
        }
    )
    def get_links(self, obj) -> dict:
        def link(name):
            return absolute(self.context, reverse(f"api:batch-{name}", args=[obj.pk]))

        return {name: link(name) for name in ("detail", "generations", "cancel", "download")}


class BatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = BatchSerializer
    queryset = Batch.objects.none()  # typing for the schema; get_queryset scopes

    def get_queryset(self):
        return batches.with_progress(Batch.objects.owned_by(self.request.user))

    @extend_schema(
        request=BatchCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        examples=[
            OpenApiExample(
                "Four takes of one prompt",
                request_only=True,
                value={"prompt": "A watercolor fox", "n": 4, "size": "1024x1024"},
            ),
            OpenApiExample(
                "A list of prompts",
                request_only=True,
                value={
                    "name": "catalog",
                    "items": [{"prompt": "a red mug"}, {"prompt": "a vase", "seed": 7}],
                },
            ),
        ],
        summary="Create a batch: every image held at once, or none",
        responses={202: BatchSerializer, 200: BatchSerializer, **ERRORS},
    )
    def create(self, request):
        body = BatchCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        batch = batches.batch_create(
            user=request.user,
            items=body.batch_items(),
            provider=body.validated_data.get("provider"),
            name=body.validated_data.get("name", ""),
            webhook_url=body.validated_data.get("webhook_url", ""),
            idempotency_key=idempotency_key(request),
        )
        code = status.HTTP_200_OK if batch.replayed else status.HTTP_202_ACCEPTED
        return Response(self.get_serializer(batch).data, status=code)

    @extend_schema(
        request=BatchCreateSerializer,
        responses={
            200: inline_serializer(
                "BatchQuote",
                {
                    "provider": serializers.CharField(),
                    "images": serializers.IntegerField(),
                    "credits": serializers.IntegerField(),
                },
            ),
            400: ERRORS[400],
        },
        summary="What a batch would cost, checked like a create; nothing is held",
    )
    @action(detail=False, methods=["post"])
    def quote(self, request):
        body = BatchCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        quote = batches.batch_quote(items=body.batch_items(), provider=body.validated_data.get("provider"))
        return Response({"provider": quote.provider, "images": quote.images, "credits": quote.credits})

    @extend_schema(responses={200: GenerationSerializer(many=True)}, summary="The batch's images, in order")
    @action(detail=True, methods=["get"])
    def generations(self, request, pk=None):
        images = batches.batch_images(self.get_object()).prefetch_related("tags")
        page = self.paginate_queryset(images)
        return self.get_paginated_response(
            GenerationSerializer(page, many=True, context=self.get_serializer_context()).data
        )

    @extend_schema(
        request=None,
        responses={200: BatchSerializer, 404: ERRORS[404]},
        summary="Cancel the rest: queued images now (refunded), running ones when they answer",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        batch = self.get_object()
        batches.batch_cancel(batch=batch)
        return Response(self.get_serializer(self.get_queryset().get(pk=batch.pk)).data)

    @extend_schema(
        responses={(200, "application/zip"): OpenApiResponse(description="The stored images, streamed")},
        summary="Download all: the batch's stored images as one ZIP",
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        return batches.batch_archive(self.get_object())
