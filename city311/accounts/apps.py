from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "city311.accounts"
    verbose_name = "Staff"

    def ready(self) -> None:
        from city311.accounts.roles import ensure_roles
        from city311.lib.labels import translate_labels

        # Every app's models are loaded before any ready() runs.
        translate_labels()

        # Permissions exist only after every app's post_migrate has run; ours is registered
        # after auth's, so it sees them.
        post_migrate.connect(ensure_roles, dispatch_uid="city311.accounts.ensure_roles")
