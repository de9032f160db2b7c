"""The account side: me, ledger, tokens, webhook secret, prompts, providers."""

from rest_framework import serializers

from generations.billing import credit_requests
from generations.models import ApiToken, CreditAccount, CreditEntry, CreditRequest, Prompt


class LimitsSerializer(serializers.Serializer):
    """Every limit of `CreditAccount.NO_LIMIT`, in its order, then `frozen`.
    The ones declared here keep their help texts; a limit added to the list
    and not declared here is shown from its model field."""

    max_concurrent = serializers.IntegerField(allow_null=True, help_text="null: no limit")
    max_per_minute = serializers.IntegerField(
        allow_null=True, help_text="New generations a minute; null: no limit"
    )
    period_limit = serializers.IntegerField(
        allow_null=True, help_text="Most credits spent a calendar month (UTC); null: no limit"
    )
    allowed_providers = serializers.ListField(
        child=serializers.CharField(), help_text="Provider names you may use; empty: all"
    )
    frozen = serializers.BooleanField(help_text="true: no new generations may be started")

    def get_fields(self):
        declared = super().get_fields()
        limits = {name: declared.get(name) or _limit_field(name) for name in CreditAccount.NO_LIMIT}
        return {**limits, "frozen": declared["frozen"]}


def _limit_field(name: str) -> serializers.Field:
    help_text = CreditAccount._meta.get_field(name).help_text
    if isinstance(CreditAccount.NO_LIMIT[name], list):
        return serializers.ListField(child=serializers.CharField(), help_text=f"{help_text}; empty: none")
    return serializers.IntegerField(allow_null=True, help_text=f"{help_text}; null: no limit")


class SourceSerializer(serializers.Serializer):
    account = serializers.ChoiceField(
        choices=["own", "team_pool"], help_text="Your own account, or your team's shared pool"
    )
    team = serializers.CharField(allow_null=True, help_text="The team's name; null for your own account")
    balance = serializers.IntegerField(help_text="Credits left on this account")
    held = serializers.IntegerField(help_text="Credits this account holds for generations in progress")
    usable = serializers.BooleanField(help_text="false: a frozen team pool, which pays for nothing")


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.EmailField()
    balance = serializers.IntegerField(
        help_text="Credits you may still spend: your own and your team's pool together"
    )
    held = serializers.IntegerField(help_text="Credits reserved for generations in progress")
    sources = SourceSerializer(
        many=True,
        help_text="The accounts that pay for your images, in the order they are drawn on "
        "(one image is paid by one account)",
    )
    allowance = serializers.IntegerField(allow_null=True, help_text="Credits granted each month; null: none")
    allowance_resets_at = serializers.DateTimeField(
        allow_null=True, help_text="When the next allowance is granted; null: no allowance"
    )
    limits = LimitsSerializer()


class CreditEntrySerializer(serializers.ModelSerializer):
    account = serializers.SerializerMethodField(help_text="own, or team_pool: your images paid by the pool")

    class Meta:
        model = CreditEntry
        fields = ["id", "account", "amount", "kind", "generation", "note", "created_at"]
        read_only_fields = fields

    def get_account(self, obj) -> str:
        return "team_pool" if obj.account.team_id else "own"


class ApiTokenSerializer(serializers.ModelSerializer):
    expires_days = serializers.IntegerField(
        write_only=True, required=False, allow_null=True, min_value=1, max_value=3650
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "is_active",
            "expires_days",
        ]
        read_only_fields = [
            "id",
            "prefix",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "is_active",
        ]


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.SerializerMethodField(help_text="Shown this once; only a hash is kept")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]

    def get_token(self, obj) -> str:
        return self.context["raw_token"]


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="Key for HMAC-SHA256 webhook signatures")
    created_at = serializers.DateTimeField()


class PromptSerializer(serializers.ModelSerializer):
    text = serializers.CharField(max_length=10_000)

    class Meta:
        model = Prompt
        # The settings are those of the image it was saved from (the dashboard's
        # "Save prompt"), null for a prompt saved as text.
        settings = ["provider", "width", "height", "seed", "prompt_extend"]
        fields = ["id", "title", "text", *settings, "created_at", "updated_at"]
        read_only_fields = ["id", *settings, "created_at", "updated_at"]


class PresetSerializer(serializers.Serializer):
    size = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    price = serializers.IntegerField(help_text="Credits without prompt_extend")
    price_prompt_extend = serializers.IntegerField(allow_null=True, help_text="Credits with prompt_extend")


def _range():
    return serializers.ListField(
        child=serializers.IntegerField(),
        allow_null=True,
        min_length=2,
        max_length=2,
        help_text="[low, high]; null: not supported",
    )


class CapabilitiesSerializer(serializers.Serializer):
    min_pixels = serializers.IntegerField()
    max_pixels = serializers.IntegerField()
    min_side = serializers.IntegerField()
    max_side = serializers.IntegerField()
    size_step = serializers.IntegerField()
    aspect_ratios = serializers.ListField(child=serializers.CharField(), help_text="Empty: any ratio")
    max_prompt_chars = serializers.IntegerField()
    seed_range = _range()
    prompt_extend = serializers.BooleanField()
    steps_range = _range()
    mode = serializers.CharField(help_text="sync or poll")


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["ok", "degraded", "down"],
        help_text="down: circuit open (routes skip it); degraded: probing, or many recent calls failed",
    )
    circuit = serializers.ChoiceField(choices=["closed", "open", "half_open"])
    calls = serializers.IntegerField(help_text="Calls in the last 15 minutes")
    errors = serializers.IntegerField()
    error_rate = serializers.FloatField()
    latency_p50 = serializers.FloatField(allow_null=True, help_text="Seconds")
    latency_p95 = serializers.FloatField(allow_null=True, help_text="Seconds")


class ProviderSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    available = serializers.BooleanField()
    unavailable_reason = serializers.CharField(help_text="Empty when available")
    default = serializers.BooleanField()
    capabilities = CapabilitiesSerializer()
    presets = PresetSerializer(many=True)
    health = HealthSerializer()


class QuoteSerializer(serializers.Serializer):
    provider = serializers.CharField()
    size = serializers.CharField()
    prompt_extend = serializers.BooleanField()
    credits = serializers.IntegerField(help_text="The price of this image")
    balance = serializers.IntegerField(help_text="Credits you may spend now (own and team pool)")
    affordable = serializers.BooleanField(help_text="One of your accounts can pay it")
    problem = serializers.CharField(
        help_text="Why a create would be refused now (frozen, a limit, a wait, too few credits); "
        "empty when it would go through"
    )


class CreditRequestSerializer(serializers.ModelSerializer):
    amount = serializers.IntegerField(min_value=1, max_value=credit_requests.MAX_AMOUNT)
    reason = serializers.CharField(max_length=500, help_text="What the credits are for")
    requester = serializers.CharField(source="requester.get_username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.get_username", read_only=True, allow_null=True)
    team = serializers.CharField(source="team.name", read_only=True, allow_null=True)

    class Meta:
        model = CreditRequest
        fields = [
            "id",
            "requester",
            "team",
            "amount",
            "reason",
            "state",
            "from_pool",
            "created_at",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = ["id", "state", "from_pool", "created_at", "decided_at"]
