"""The account side over REST: me, ledger, tokens, webhook secret, prompts,
providers and quotes. Everything is scoped to `request.user`."""

from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from generations.api import tokens
from generations.api.serializers import GenerationCreateSerializer
from generations.api.serializers_account import (
    ApiTokenSerializer,
    CreditEntrySerializer,
    MeSerializer,
    NewApiTokenSerializer,
    PromptSerializer,
    ProviderSerializer,
    QuoteSerializer,
    WebhookSecretSerializer,
)
from generations.billing import quotas, spendable
from generations.lifecycle.catalog import generation_quote_for, provider_catalog
from generations.models import ApiToken, CreditAccount, Prompt
from generations.webhooks import deliveries


class MeView(APIView):
    @extend_schema(responses=MeSerializer, summary="Your account, balance and limits")
    def get(self, request):
        user = request.user
        wallet = spendable.spendable_for(user)
        account = wallet.own
        return Response(
            MeSerializer(
                {
                    "username": user.get_username(),
                    "email": user.email,
                    "balance": wallet.available,
                    "held": wallet.held,
                    "sources": [_source(s) for s in wallet.sources],
                    "allowance": account.monthly_allowance or None,
                    "allowance_resets_at": quotas.allowance_resets_at(account),
                    "limits": _limits(account),
                }
            ).data
        )


def _source(source: spendable.Source) -> dict:
    account = source.account
    return {
        "account": "team_pool" if source.is_pool else "own",
        "team": str(account.team) if source.is_pool else None,
        "balance": source.available,
        "held": source.held,
        "usable": source.usable,
    }


def _limits(account) -> dict:
    """The account's limits (CreditAccount.NO_LIMIT) as the API shows them: a
    count's 0 (the admin's "no limit") becomes null; a list stays a list."""
    limits = {name: _shown(getattr(account, name), none) for name, none in CreditAccount.NO_LIMIT.items()}
    return {**limits, "frozen": account.frozen}


def _shown(value, none):
    return list(value) if isinstance(none, list) else (None if value == none else value)


class CreditEntryList(generics.ListAPIView):
    serializer_class = CreditEntrySerializer

    def get_queryset(self):
        return spendable.entries_for(self.request.user)


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your API tokens. Create shows the token once; delete revokes it."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # typing for the schema; get_queryset scopes

    def get_queryset(self):
        return ApiToken.objects.owned_by(self.request.user)

    @extend_schema(
        responses={201: NewApiTokenSerializer},
        description="A request made with a token that expires may create only "
        "tokens that expire no later than it (no expires_days: the same expiry).",
    )
    def create(self, request):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        parent = request.auth if isinstance(request.auth, ApiToken) else None
        try:
            token, raw = tokens.api_token_create(user=request.user, parent=parent, **body.validated_data)
        except tokens.TokenOutlivesParent as exc:
            raise serializers.ValidationError({"expires_days": [str(exc)]}) from exc
        data = NewApiTokenSerializer(token, context={"raw_token": raw}).data
        return _secret(Response(data, status=status.HTTP_201_CREATED))

    def perform_destroy(self, instance):
        tokens.api_token_revoke(token=instance)


class WebhookSecretView(APIView):
    @extend_schema(responses=WebhookSecretSerializer, summary="Your webhook signing secret")
    def get(self, request):
        secret = deliveries.webhook_secret_get(user=request.user)
        return _secret(Response(WebhookSecretSerializer(secret).data))

    @extend_schema(
        request=None, responses=WebhookSecretSerializer, summary="Replace your webhook signing secret"
    )
    def post(self, request):
        secret = deliveries.webhook_secret_rotate(user=request.user)
        return _secret(Response(WebhookSecretSerializer(secret).data))


def _secret(response: Response) -> Response:
    """An answer that holds a secret: no cache, shared or the browser's, may keep a copy."""
    add_never_cache_headers(response)
    return response


class PromptViewSet(viewsets.ModelViewSet):
    serializer_class = PromptSerializer
    queryset = Prompt.objects.none()  # typing for the schema; get_queryset scopes

    def get_queryset(self):
        return Prompt.objects.owned_by(self.request.user)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


class ProviderList(APIView):
    @extend_schema(
        responses=ProviderSerializer(many=True), summary="Providers, their limits, size presets and prices"
    )
    def get(self, request):
        return Response(ProviderSerializer(provider_catalog(), many=True).data)


class QuoteView(APIView):
    @extend_schema(
        request=GenerationCreateSerializer,
        responses=QuoteSerializer,
        summary="Validate and price a create without making anything",
    )
    def post(self, request):
        body = GenerationCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        params = {
            key: value
            for key, value in body.service_kwargs().items()
            if key not in ("saved_prompt", "tags", "webhook_url")
        }
        return Response(QuoteSerializer(generation_quote_for(user=request.user, **params)).data)
