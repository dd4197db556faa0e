from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "city311.demo"
    verbose_name = "Demo city"
