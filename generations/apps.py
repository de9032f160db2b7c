import logging

from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Z-Image Studio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        import generations.accounts.adapters  # noqa: F401 - connects the SSO sign-in receiver
        import generations.accounts.checks  # noqa: F401 - registers the OIDC_GROUP_MAP check
        from generations.models import PriceRule, ProviderConfig, ProviderRoute
        from generations.runtime.config_cache import config_changed

        for model in (ProviderConfig, PriceRule, ProviderRoute):
            post_save.connect(config_changed, sender=model, dispatch_uid=f"config-{model.__name__}")
            post_delete.connect(config_changed, sender=model, dispatch_uid=f"config-del-{model.__name__}")
        post_save.connect(user_created, sender=settings.AUTH_USER_MODEL, dispatch_uid="user-credit-account")
        if settings.IMAGE_FETCH_ALLOW_PRIVATE:
            # Here, not in settings.py: logging is set up by now, so the line
            # comes out in the site's format (JSON with LOG_FORMAT=json).
            logging.getLogger("zimage_site").warning(
                "IMAGE_FETCH_ALLOW_PRIVATE=1: provider image URLs may point at private addresses"
            )


def user_created(sender, instance, created, raw=False, **kwargs):
    """A user has a credit account, with the starting credits, from the moment
    they exist (made in the admin, by a command or by sign-up), so staff can
    grant them credits before their first visit. Not for fixtures (`raw`)."""
    if created and not raw:
        from generations.billing import ledger

        ledger.account_open(instance)
