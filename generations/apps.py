from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = "Z-Image Studio"
    default_auto_field = "django.db.models.BigAutoField"
