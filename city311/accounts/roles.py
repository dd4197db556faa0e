"""Staff roles as Django groups, the permissions each carries, and who holds them.

The helpers here know people, roles and departments, never a domain model: the rules about
requests are built on them in `city311.servicerequests.access`.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.contrib.auth.models import Group, Permission

from city311.accounts.rolemap import ROLE_NAMES

CALL_TAKER, DEPARTMENT_STAFF, SUPERVISOR, MANAGER, ADMINISTRATOR = ROLE_NAMES

_SR = "servicerequests"
# Contacts (the caller card, the call log and its reports): not department staff.
_SEE_CONTACTS = "contacts.view_interactions"
ROLE_PERMISSIONS: dict[str, list[str]] = {
    CALL_TAKER: [
        f"{_SR}.add_servicerequest",
        f"{_SR}.view_servicerequest",
        f"{_SR}.view_all_requests",
        f"{_SR}.view_contact",
        _SEE_CONTACTS,
    ],
    DEPARTMENT_STAFF: [
        f"{_SR}.view_servicerequest",
        f"{_SR}.work_request",
        f"{_SR}.view_contact",
    ],
    SUPERVISOR: [
        f"{_SR}.view_servicerequest",
        f"{_SR}.work_request",
        f"{_SR}.assign_request",
        f"{_SR}.view_contact",
        f"{_SR}.view_reports",
        _SEE_CONTACTS,
    ],
    MANAGER: [
        f"{_SR}.view_servicerequest",
        f"{_SR}.view_all_requests",
        f"{_SR}.view_contact",
        f"{_SR}.view_reports",
        _SEE_CONTACTS,
    ],
}
# Administrators get every permission of these apps, and the admin site.
ADMIN_APPS = [
    "catalog",
    "cities",
    "geo",
    "servicerequests",
    "accounts",
    "auth",
    "django_q",
    "axes",
    "open311",
    "notifications",
    "knowledge",
    "facilities",
    "contacts",
    "webhooks",
    "forwarding",
    "pickups",
]


def ensure_roles(sender: Any = None, **kwargs: Any) -> None:
    """Create the role groups and give them their permissions. Safe to run again.

    As a post_migrate receiver it acts once a migrate, after the last app's signal: each app's
    permissions exist only after its own (and every run read them all again, 27 times)."""
    if sender is not None and sender is not _last_app_with_models():
        return
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for name in names:
            app_label, codename = name.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                perms.append(perm)
        group.permissions.set(perms)
    admin, _ = Group.objects.get_or_create(name=ADMINISTRATOR)
    admin.permissions.set(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))


def _last_app_with_models() -> AppConfig:
    # post_migrate is sent for each app with a models module, in INSTALLED_APPS order.
    return [c for c in apps.get_app_configs() if c.models_module is not None][-1]


def department_ids(user: Any) -> set[int]:
    """The departments `user` works for, read once a request (kept on the user object)."""
    if not user.is_authenticated:
        return set()
    cached: set[int] | None = getattr(user, "_city311_department_ids", None)
    if cached is None:
        cached = set(user.memberships.values_list("department_id", flat=True))
        user._city311_department_ids = cached
    return cached


def is_staff_member(user: Any) -> bool:
    """Anyone with a staff role: call takers, department staff, supervisors, managers, admins."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.has_perm(f"{_SR}.view_servicerequest"))
    )


def is_administrator(user: Any) -> bool:
    """Administrators may work any department's requests."""
    return bool(
        user.is_authenticated
        and (user.is_superuser or user.has_perm(f"{_SR}.change_servicerequest"))
    )
