from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from generations.api import openai

handler404 = "generations.api.errors.not_found"

admin.site.site_header = "Z-Image Studio administration"
admin.site.site_title = "Z-Image Studio admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("generations.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from the site's own static files (SWAGGER_UI_DIST), its
    # start-up script a second request rather than inline: the
    # Content-Security-Policy allows no inline script without a nonce.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/models", openai.ModelsView.as_view(), name="openai-models"),
    path("v1/images/generations", openai.ImageGenerationsView.as_view(), name="openai-images"),
    path("v1/files/<str:signed>", openai.signed_image, name="openai-image"),
    path("", include("generations.urls")),
]
