"""Generations: what the API shows and what it accepts."""

import copy

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from generations.dashboard.forms import SIZE_RE
from generations.models import Generation, Prompt
from generations.providers import InvalidRequest
from generations.webhooks.targets import webhook_url_check

MAX_TAGS = 20


def absolute(context: dict, path: str) -> str:
    """Absolute URL: from the request when there is one (API), else SITE_URL (webhooks)."""
    request = context.get("request")
    return request.build_absolute_uri(path) if request else settings.SITE_URL + path


class FieldsBuiltOnce:
    """Fields built once per serializer class, each serializer binding its own
    copies. DRF rebuilds every field for every serializer (a deep copy of the
    declared ones; a ModelSerializer also derives its fields from the model):
    half of a create's answer and a fifth of reading its body. A shallow copy
    is enough for a field without fields inside: binding sets only the copy's
    name and parent, and validators are shared, never changed. A list field's
    child is bound to the list field, so those are still copied deeply."""

    NESTED = (serializers.ListField, serializers.DictField, serializers.BaseSerializer)

    def get_fields(self):
        cls = type(self)
        if "_built_fields" not in cls.__dict__:
            cls._built_fields = super().get_fields()
        return {
            name: copy.deepcopy(field) if isinstance(field, self.NESTED) else copy.copy(field)
            for name, field in cls._built_fields.items()
        }


class GenerationSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    size = serializers.CharField()
    tags = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    image = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()
    attempts = serializers.SerializerMethodField()

    class Meta:
        model = Generation
        fields = [
            "id",
            "status",
            "prompt",
            "rewritten_prompt",
            "size",
            "width",
            "height",
            "seed",
            "seed_used",
            "prompt_extend",
            "steps",
            "provider",
            "route",
            "attempts",
            "tags",
            "saved_prompt",
            "batch",
            "batch_index",
            "credits_cost",
            "error",
            "image",
            "webhook_url",
            "created_at",
            "started_at",
            "finished_at",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "array",
            "description": "Every provider call made for it, in order (a routed one may fall back)",
            "items": {
                "type": "object",
                "properties": {
                    "provider": {"type": "string"},
                    "code": {"type": "string", "description": "ok, or the provider's error code"},
                    "at": {"type": "string", "format": "date-time"},
                    "seconds": {"type": "number"},
                    "cost": {"type": "string", "description": "What the provider charged, in its currency"},
                },
            },
        }
    )
    def get_attempts(self, obj) -> list[dict]:
        if obj.attempts == 0 and obj.status == Generation.Status.QUEUED:  # none yet: no query
            return []
        return [
            {
                "provider": a.provider,
                "code": a.code,
                "at": serializers.DateTimeField().to_representation(a.at),
                "seconds": round(a.seconds, 3),
                "cost": str(a.cost),
            }
            for a in obj.attempt_records.all()
        ]

    def get_tags(self, obj) -> list[str]:
        if (names := getattr(obj, "tag_names", None)) is not None:  # just created: known
            return names
        return sorted(tag.name for tag in obj.tags.all())

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    )
    def get_error(self, obj):
        if obj.status != Generation.Status.FAILED:
            return None
        return {"code": obj.error_code, "message": obj.error_message}

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "width": {"type": "integer"},
                "height": {"type": "integer"},
                "bytes": {"type": "integer"},
                "sha256": {"type": "string"},
                "content_type": {"type": "string"},
            },
        }
    )
    def get_image(self, obj):
        if not obj.image:
            return None
        return {
            "width": obj.image_width,
            "height": obj.image_height,
            "bytes": obj.image_bytes,
            "sha256": obj.sha256,
            "content_type": obj.content_type,
        }

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                name: {"type": "string", "format": "uri", "nullable": name != "self"}
                for name in ("self", "image", "thumbnail", "cancel")
            },
        }
    )
    def get_links(self, obj):
        templates = self._link_templates()

        def link(name):
            return templates[name].replace(PLACEHOLDER_ID, str(obj.pk))

        return {
            "self": link("detail"),
            "image": link("image") if obj.image else None,
            # Made on its first request where the image was stored without one.
            "thumbnail": link("thumbnail") if obj.image else None,
            "cancel": link("cancel") if obj.status == Generation.Status.QUEUED else None,
        }

    def _link_templates(self) -> dict[str, str]:
        """Each link's absolute URL with a placeholder id, made once per answer
        (the context is shared by a page's items): reverse() and
        build_absolute_uri() per item were a third of a 100-item page."""
        cached = self.context.get("_generation_links")
        if cached is None:
            cached = {
                name: absolute(self.context, reverse(f"api:generation-{name}", args=[PLACEHOLDER_ID]))
                for name in ("detail", "image", "thumbnail", "cancel")
            }
            self.context["_generation_links"] = cached
        return cached


PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"


@extend_schema_field(OpenApiTypes.STR)
class SizeField(serializers.CharField):
    """`WxH` (also `W*H`) as (width, height)."""

    def to_internal_value(self, data):
        match = SIZE_RE.match(super().to_internal_value(data))
        if not match:
            raise serializers.ValidationError(_("Size must look like 1024x1024 (width x height)."))
        return int(match[1]), int(match[2])

    def get_default(self):
        # A default is not passed through to_internal_value: parse it here.
        return self.to_internal_value(super().get_default())


class WebhookUrlField(serializers.URLField):
    def __init__(self, **kwargs):
        super().__init__(required=False, allow_blank=True, max_length=500, **kwargs)

    def run_validators(self, value):
        super().run_validators(value)
        if value:
            try:
                webhook_url_check(value)
            except InvalidRequest as exc:
                raise serializers.ValidationError(exc.message) from exc


@extend_schema_field(OpenApiTypes.INT)
class OwnPromptField(serializers.PrimaryKeyRelatedField):
    """A saved prompt id; another user's prompt is as unknown as a missing one."""

    def get_queryset(self):
        return Prompt.objects.owned_by(self.context["request"].user)


class GenerationCreateSerializer(FieldsBuiltOnce, serializers.Serializer):
    prompt = serializers.CharField(
        required=False, max_length=10_000, help_text="Optional when saved_prompt is given."
    )
    size = SizeField(default="1024x1024", help_text="WIDTHxHEIGHT, e.g. 1024x1536")
    seed = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**63 - 1, help_text="Empty for a random seed"
    )
    prompt_extend = serializers.BooleanField(default=False)
    provider = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=40,
        help_text="This provider only (no fallback); empty for the route",
    )
    route = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=60,
        help_text="The route when no provider is named; empty for the default, z-image-turbo",
    )
    steps = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=100)
    saved_prompt = OwnPromptField(required=False, allow_null=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=MAX_TAGS
    )
    webhook_url = WebhookUrlField(help_text="POSTed the final state when it ends")

    def validate(self, attrs):
        saved = attrs.get("saved_prompt")
        if not attrs.get("prompt"):
            if saved is None:
                raise serializers.ValidationError({"prompt": _("A prompt or a saved_prompt is required.")})
            attrs["prompt"] = saved.text
        return attrs

    def service_kwargs(self) -> dict:
        """The validated body as generation_create()'s keyword arguments."""
        data = dict(self.validated_data)
        data["width"], data["height"] = data.pop("size")
        return data


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "enum": ["random"]}]})
class RemixSeedField(serializers.Field):
    def to_internal_value(self, data):
        if data == "random":
            return None
        return serializers.IntegerField(min_value=0, max_value=2**63 - 1).run_validation(data)

    def to_representation(self, value):
        return value


class RemixSerializer(serializers.Serializer):
    seed = RemixSeedField(required=False, help_text='A new seed, "random", or absent to keep it')
    webhook_url = WebhookUrlField()


class GenerationFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Generation.Status.choices, required=False)
    provider = serializers.CharField(required=False, max_length=40)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    size = SizeField(required=False)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=2**63 - 1)
    tag = serializers.CharField(required=False, max_length=50)
    q = serializers.CharField(required=False, max_length=200, help_text="Words in the prompt")

    def filter(self, queryset):
        data = self.validated_data
        lookups = {
            "status": "status",
            "provider": "provider",
            "created_after": "created_at__gte",
            "created_before": "created_at__lt",
            "seed": "seed_used",
            "tag": "tags__name",
        }
        queryset = queryset.filter(**{lookups[k]: v for k, v in data.items() if k in lookups})
        if "size" in data:
            queryset = queryset.filter(width=data["size"][0], height=data["size"][1])
        for word in data.get("q", "").split():  # every word, anywhere in the prompt
            queryset = queryset.filter(prompt__icontains=word)
        return queryset
