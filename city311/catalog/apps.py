from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "city311.catalog"
    verbose_name = "Service catalog"
