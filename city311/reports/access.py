"""Who may read the reports, and of which departments."""

from __future__ import annotations

from typing import Any

from city311.accounts.roles import department_ids, is_staff_member


def can_see_reports(user: Any) -> bool:
    """Supervisors, managers and administrators (the view_reports permission)."""
    return bool(is_staff_member(user) and user.has_perm("servicerequests.view_reports"))


def report_departments(user: Any) -> set[int] | None:
    """The departments whose figures `user` may read; None for every department.

    Managers and administrators see the whole city; a supervisor sees their own departments.
    """
    if user.has_perm("servicerequests.view_all_requests") or user.is_superuser:
        return None
    return department_ids(user)
