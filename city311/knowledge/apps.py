from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "city311.knowledge"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        # Registers the start-up check that the database is one search can run in.
        from city311.knowledge import checks  # noqa: F401
