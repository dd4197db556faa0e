"""Asking for staff pages in a benchmark's own process, as a browser would."""

from __future__ import annotations

from typing import Any


def manager_client() -> Any:
    """Django's test client signed in as a manager (made once), with static files served
    without `collectstatic` first (the hashed manifest is a deployment step)."""
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from city311.accounts import roles

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.ALLOWED_HOSTS = ["*"]
    roles.ensure_roles()
    manager, _ = User.objects.get_or_create(username="bench-manager")
    manager.groups.add(Group.objects.get(name=roles.MANAGER))
    client = Client()
    client.force_login(manager)
    return client
