from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "city311.notifications"
    verbose_name = "Notifications"
