from django.apps import AppConfig


class ServicerequestsConfig(AppConfig):
    name = "city311.servicerequests"
    verbose_name = "Service requests"
