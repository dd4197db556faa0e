from django.apps import AppConfig


class PickupsConfig(AppConfig):
    name = "city311.pickups"
    verbose_name = "Pickups"
