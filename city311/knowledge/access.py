"""Who may read and change what in the knowledge base."""

from __future__ import annotations

from typing import Any

from city311.accounts import roles


def can_read_staff_articles(user: Any) -> bool:
    """Staff-only answers are for every staff member, call takers first."""
    return roles.is_staff_member(user)


def sees_every_department(user: Any) -> bool:
    """Call takers, managers and administrators answer for the whole city."""
    return bool(
        user.is_authenticated
        and (user.is_superuser or user.has_perm("servicerequests.view_all_requests"))
    )


def department_ids(user: Any) -> set[int]:
    return roles.department_ids(user)


def can_edit_articles(user: Any) -> bool:
    """Editors work in the admin: administrators."""
    return bool(
        user.is_authenticated and (user.is_superuser or user.has_perm("knowledge.change_article"))
    )


def can_see_content_gaps(user: Any) -> bool:
    """What residents searched for in vain: for supervisors, managers and administrators."""
    return bool(
        user.is_authenticated
        and (user.is_superuser or user.has_perm("servicerequests.view_reports"))
    )
