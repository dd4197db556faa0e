from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "city311.portal"
    verbose_name = "Resident portal"
