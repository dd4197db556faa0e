"""Who may see or change which requests. Every rule about requests lives here, built on the
role helpers of `city311.accounts.roles`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from city311.accounts.roles import department_ids, is_administrator, is_staff_member
from city311.servicerequests.models import ServiceRequest, ServiceRequestQuerySet
from city311.servicerequests.queries import get_by_tracking_number

__all__ = [
    "can_assign_request",
    "can_create_request",
    "can_see_contact",
    "can_see_request",
    "can_work_request",
    "get_request_for_user",
    "is_staff_member",
    "requests_visible_to",
]


def can_see_request(user: Any, sr: ServiceRequest) -> bool:
    if not is_staff_member(user):
        return False
    if user.has_perm("servicerequests.view_all_requests"):
        return True
    return sr.department_id in department_ids(user)


def can_work_request(user: Any, sr: ServiceRequest) -> bool:
    """Start, note, transfer, close and reopen: staff of the request's own department.

    Administrators (who hold change_servicerequest) may work any department's requests.
    """
    if not user.is_authenticated:
        return False
    if is_administrator(user):
        return True
    return bool(
        user.has_perm("servicerequests.work_request") and sr.department_id in department_ids(user)
    )


def can_assign_request(user: Any, sr: ServiceRequest) -> bool:
    if is_administrator(user):
        return True
    return can_work_request(user, sr) and user.has_perm("servicerequests.assign_request")


def can_see_contact(user: Any, sr: ServiceRequest) -> bool:
    return can_see_request(user, sr) and user.has_perm("servicerequests.view_contact")


def can_create_request(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("servicerequests.add_servicerequest"))


def requests_visible_to(user: Any) -> ServiceRequestQuerySet:
    if not is_staff_member(user):
        return ServiceRequest.objects.none()  # type: ignore[return-value]
    if user.has_perm("servicerequests.view_all_requests"):
        return ServiceRequest.objects.all()
    return ServiceRequest.objects.filter(department_id__in=department_ids(user))


def get_request_for_user(user: Any, tracking_number: str, *, write: bool = False) -> ServiceRequest:
    """The request with this number if `user` may see it (or work it, with write=True).

    Raises NoSuchRequest for a mistyped or unknown number and PermissionDenied otherwise.
    """
    sr = get_by_tracking_number(tracking_number)
    allowed = can_work_request(user, sr) if write else can_see_request(user, sr)
    if not allowed:
        raise PermissionDenied("This request belongs to another department.")
    return sr
