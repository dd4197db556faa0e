from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "city311.console"
    verbose_name = "Operator console"
