from django.apps import AppConfig


class FacilitiesConfig(AppConfig):
    name = "city311.facilities"
    verbose_name = "Facilities, hours and events"
