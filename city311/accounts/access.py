"""Who may see or change what. Every permission rule of city311 lives here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from city311.servicerequests.models import ServiceRequest, ServiceRequestQuerySet

    User = AbstractBaseUser | AnonymousUser


def department_ids(user: Any) -> set[int]:
    if not user.is_authenticated:
        return set()
    cached: set[int] | None = getattr(user, "_city311_department_ids", None)
    if cached is None:
        cached = set(user.memberships.values_list("department_id", flat=True))
        user._city311_department_ids = cached
    return cached


def is_staff_member(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.has_perm("servicerequests.view_servicerequest"))
    )


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
    if user.is_superuser or user.has_perm("servicerequests.change_servicerequest"):
        return True
    return bool(
        user.is_authenticated
        and user.has_perm("servicerequests.work_request")
        and sr.department_id in department_ids(user)
    )


def can_assign_request(user: Any, sr: ServiceRequest) -> bool:
    if user.is_authenticated and (
        user.is_superuser or user.has_perm("servicerequests.change_servicerequest")
    ):
        return True
    return can_work_request(user, sr) and user.has_perm("servicerequests.assign_request")


def can_see_contact(user: Any, sr: ServiceRequest) -> bool:
    return can_see_request(user, sr) and user.has_perm("servicerequests.view_contact")


def can_create_request(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("servicerequests.add_servicerequest"))


def requests_visible_to(user: Any) -> ServiceRequestQuerySet:
    from city311.servicerequests.models import ServiceRequest

    if not is_staff_member(user):
        return ServiceRequest.objects.none()  # type: ignore[return-value]
    if user.has_perm("servicerequests.view_all_requests"):
        return ServiceRequest.objects.all()
    return ServiceRequest.objects.filter(department_id__in=department_ids(user))


def get_request_for_user(user: Any, tracking_number: str, *, write: bool = False) -> ServiceRequest:
    """The request with this number if `user` may see it (or work it, with write=True).

    Raises NoSuchRequest for a mistyped or unknown number and PermissionDenied otherwise.
    """
    from city311.servicerequests.queries import get_by_tracking_number

    sr = get_by_tracking_number(tracking_number)
    allowed = can_work_request(user, sr) if write else can_see_request(user, sr)
    if not allowed:
        raise PermissionDenied("This request belongs to another department.")
    return sr
