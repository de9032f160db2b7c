"""The account side over REST: me, ledger, tokens, webhook secret, prompts,
providers and quotes. Everything is scoped to `request.user`."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from generations.api import tokens
from generations.api.serializers import GenerationCreateSerializer
from generations.api.serializers_account import (
    ApiTokenSerializer,
    CreditEntrySerializer,
    CreditRequestSerializer,
    MeSerializer,
    NewApiTokenSerializer,
    PromptSerializer,
    ProviderSerializer,
    QuoteSerializer,
    WebhookSecretSerializer,
)
from generations.billing import credit_requests, quotas, spendable
from generations.lifecycle.catalog import generation_quote_for, provider_catalog
from generations.models import ApiToken, CreditAccount, CreditEntry, CreditRequest, Prompt
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
        if getattr(self, "swagger_fake_view", False):
            # The schema is built without a user (and before a test database
            # exists): entries_for reads the user's accounts at once.
            return CreditEntry.objects.none()
        return spendable.entries_for(self.request.user)


class CreditRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Your credit requests: ask for credits (amount, reason) and see the answers.
    Team admins and site admins list the requests they may answer
    (`pending/`) and approve or decline them."""

    serializer_class = CreditRequestSerializer
    queryset = CreditRequest.objects.none()  # typing for the schema; get_queryset scopes

    def get_queryset(self):
        return CreditRequest.objects.owned_by(self.request.user).select_related("team", "decided_by")

    def perform_create(self, serializer):
        try:
            serializer.instance = credit_requests.credit_request_create(
                user=self.request.user, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"non_field_errors": exc.messages}) from exc

    @extend_schema(responses=CreditRequestSerializer(many=True), summary="Requests you may answer")
    @action(detail=False)
    def pending(self, request):
        rows = credit_requests.decidable_by(request.user)
        return Response(CreditRequestSerializer(rows, many=True).data)

    @extend_schema(request=None, responses=CreditRequestSerializer, summary="Approve a request")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._answer(pk, approve=True)

    @extend_schema(request=None, responses=CreditRequestSerializer, summary="Decline a request")
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._answer(pk, approve=False)

    def _answer(self, pk, *, approve: bool) -> Response:
        """A request the caller may neither answer nor read is a 404, as if it
        did not exist; one they may only read (view-only staff) a 403."""
        user = self.request.user
        found = CreditRequest.objects.filter(pk=pk).first() if str(pk).isdigit() else None
        if found is None or not (
            credit_requests.may_decide(user, found)
            or credit_requests.decidable_by(user).filter(pk=found.pk).exists()
        ):
            raise Http404
        try:
            done = credit_requests.credit_request_decide(request_id=found.pk, actor=user, approve=approve)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"non_field_errors": exc.messages}) from exc
        return Response(CreditRequestSerializer(done).data)


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
