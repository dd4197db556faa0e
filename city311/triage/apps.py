from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "city311.triage"
    verbose_name = "Emergency triage"
