from allauth.account import views as allauth_account
from allauth.socialaccount import views as allauth_social
from allauth.socialaccount.providers.openid_connect import urls as allauth_oidc
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from generations.accounts import oidc
from generations.accounts import views as accounts
from generations.api import openai

handler404 = "generations.api.errors.not_found"

admin.site.site_header = "Z-Image Studio administration"
admin.site.site_title = "Z-Image Studio admin"

# django-allauth for single sign-on only: the OpenID Connect round trip
# (/accounts/oidc/<id>/login/ and .../login/callback/), its error and
# sign-up-conflict pages, and the names its templates use. Not its e-mail,
# password or connection pages: an address added there could later be
# matched by an SSO sign-in.
sso_urls = [
    # Before allauth's own: its callback, keeping the ID token for sign-out.
    path("oidc/<str:provider_id>/login/callback/", oidc.callback, name="openid_connect_callback"),
    *allauth_oidc.urlpatterns,
    path("login/", accounts.SignInView.as_view(), name="account_login"),
    path("logout/", accounts.sign_out, name="account_logout"),
    path("inactive/", allauth_account.account_inactive, name="account_inactive"),
    path("3rdparty/login/cancelled/", allauth_social.login_cancelled, name="socialaccount_login_cancelled"),
    path("3rdparty/login/error/", allauth_social.login_error, name="socialaccount_login_error"),
    path("3rdparty/signup/", allauth_social.signup, name="socialaccount_signup"),
]

urlpatterns = [
    # With PASSWORD_LOGIN=0 the admin's own password form would only refuse:
    # its sign-in is then the site's (single sign-on).
    path("admin/login/", accounts.admin_sign_in),
    path("admin/", admin.site.urls),
    path("accounts/login/", accounts.SignInView.as_view(), name="login"),
    path("accounts/logout/", accounts.sign_out, name="logout"),
    path("accounts/password/reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("invite/<str:token>/", accounts.invitation_accept, name="invitation_accept"),
    path("team/invitations/", accounts.team_invite, name="team_invite"),
    path("team/invitations/<int:pk>/revoke", accounts.invitation_revoke, name="invitation_revoke"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/", include(sso_urls)),
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
