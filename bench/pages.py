"""Asking for staff pages in a benchmark's own process, as a browser would."""

from __future__ import annotations

from typing import Any


def manager_client() -> Any:
    """Django's test client signed in as a manager (made once): `staff_client`."""
    from city311.accounts import roles

    return staff_client("bench-manager", roles.MANAGER)


def staff_client(username: str, role: str) -> Any:
    """Django's test client signed in as `username` in `role` (made once), with static files served
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
    person, _ = User.objects.get_or_create(username=username)
    person.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(person)
    return client
