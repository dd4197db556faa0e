from django.apps import AppConfig


class WorkConfig(AppConfig):
    name = "city311.work"
    verbose_name = "Department work"
