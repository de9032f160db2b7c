from django.urls import include, path
from rest_framework.routers import DefaultRouter

from generations.api import batches, views, views_account

app_name = "api"

router = DefaultRouter()
router.register("generations", views.GenerationViewSet, basename="generation")
router.register("batches", batches.BatchViewSet, basename="batch")
router.register("prompts", views_account.PromptViewSet, basename="prompt")
router.register("tokens", views_account.ApiTokenViewSet, basename="token")
router.register("credit-requests", views_account.CreditRequestViewSet, basename="credit-request")

urlpatterns = [
    path("me/", views_account.MeView.as_view(), name="me"),
    path("me/webhook-secret/", views_account.WebhookSecretView.as_view(), name="webhook-secret"),
    path("credits/entries/", views_account.CreditEntryList.as_view(), name="credit-entries"),
    path("providers/", views_account.ProviderList.as_view(), name="providers"),
    path("quote/", views_account.QuoteView.as_view(), name="quote"),
    path("", include(router.urls)),
]
