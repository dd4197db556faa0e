from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "city311.geo"
    verbose_name = "Geography"
