from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "city311.knowledge"
    verbose_name = "Knowledge base"
