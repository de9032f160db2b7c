from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Z-Image Studio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        import generations.accounts.adapters  # noqa: F401 - connects the SSO sign-in receiver
        import generations.accounts.checks  # noqa: F401 - registers the OIDC_GROUP_MAP check
        from generations.models import PriceRule, ProviderConfig
        from generations.runtime.config_cache import config_changed

        for model in (ProviderConfig, PriceRule):
            post_save.connect(config_changed, sender=model, dispatch_uid=f"config-{model.__name__}")
            post_delete.connect(config_changed, sender=model, dispatch_uid=f"config-del-{model.__name__}")
