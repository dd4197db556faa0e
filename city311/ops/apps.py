from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "city311.ops"
    verbose_name = "Operations"
