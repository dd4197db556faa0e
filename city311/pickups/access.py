"""Who may open the pickups' staff pages (the role x URL matrix: tests/test_access_matrix.py).

- The day's bookings: administrators, people who see every request (call takers, managers),
  and staff of the department the bulky service type belongs to.
- Capacities, late routes and closing bookings: administrators, and staff or supervisors of
  that department (those who work its requests).
"""

from __future__ import annotations

from typing import Any

from city311.accounts.roles import department_ids, is_administrator, is_staff_member
from city311.catalog.models import ServiceType
from city311.pickups.models import BookingRule


def _bulky_department() -> int | None:
    code = BookingRule.current().service_code
    return (
        ServiceType.objects.filter(service_code=code)
        .values_list("department_id", flat=True)
        .first()
    )


def _in_department(user: Any) -> bool:
    department = _bulky_department()
    return department is not None and department in department_ids(user)


def can_see_pickup_days(user: Any) -> bool:
    if not is_staff_member(user):
        return False
    if is_administrator(user) or user.has_perm("servicerequests.view_all_requests"):
        return True
    return _in_department(user)


def can_manage_pickups(user: Any) -> bool:
    if not is_staff_member(user):
        return False
    if is_administrator(user):
        return True
    return user.has_perm("servicerequests.work_request") and _in_department(user)
