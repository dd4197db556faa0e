from django.apps import AppConfig


class IntakeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "city311.intake"
    verbose_name = "Intake by e-mail, text and phone"
