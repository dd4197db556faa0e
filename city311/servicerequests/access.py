"""Who may see or change which requests. Every rule about requests lives here, built on the
role helpers of `city311.accounts.roles`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from city311.accounts.roles import department_ids, is_administrator, is_staff_member
from city311.servicerequests.errors import RequestError
from city311.servicerequests.models import ServiceRequest, ServiceRequestQuerySet, Team, WorkOrder
from city311.servicerequests.queries import get_by_tracking_number, no_such_request

__all__ = [
    "can_assign_request",
    "can_be_assigned",
    "can_create_request",
    "can_see_contact",
    "can_see_request",
    "can_work_as_crew",
    "can_work_order",
    "can_work_request",
    "get_link_target_for_user",
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


def can_work_order(user: Any, order: WorkOrder) -> bool:
    """Start, note, finish, cancel, hand back or take one work order, on the crew's page and
    the request's page alike: its crew (its assignee, the members of the assignee's teams in
    the department, the request's team) and the department's supervisors. A crew mate may
    finish a teammate's work order (a crew shares the truck and the day; the history names who
    did it); someone of the department outside the crew may not. A work order nobody has, on a
    request no team has, is open to anyone who works the request, as "Start" takes it."""
    sr = order.request
    if not can_work_request(user, sr):
        return False
    if can_assign_request(user, sr) or order.assignee_id == user.pk:
        return True
    crews = Team.objects.filter(department=sr.department, active=True)
    if order.assignee_id is not None:
        crews = crews.filter(members=order.assignee_id)
        if sr.team_id is not None:
            crews = crews | Team.objects.filter(pk=sr.team_id)
    elif sr.team_id is not None:
        crews = crews.filter(pk=sr.team_id)
    else:
        return True
    return crews.filter(members=user.pk).exists()


def can_work_as_crew(user: Any, sr: ServiceRequest) -> bool:
    """The crew page's forms on the request itself (a note, "Close: the work is done"): the
    request's crew, by the rule of its work orders (can_work_order) — its assignee, the members
    of the assignee's teams in the department and of the request's team — and the
    department's supervisors (administrators anywhere). A request with neither an assignee nor
    a team is its unfinished work orders' crews', and with none, open to anyone who works it,
    as "Start" takes it. The request's own page keeps the department's rule (can_work_request):
    the office works any request of its department; the crew page is the crew's."""
    if not can_work_request(user, sr):
        return False
    if can_assign_request(user, sr) or sr.assignee_id == user.pk:
        return True
    if sr.assignee_id is None and sr.team_id is None:
        unfinished = [order for order in sr.work_orders.all() if not order.is_finished]
        for order in unfinished:
            order.request = sr
        return not unfinished or any(can_work_order(user, order) for order in unfinished)
    crews = Q(pk=sr.team_id) if sr.team_id is not None else Q(pk__in=[])
    if sr.assignee_id is not None:
        crews |= Q(department=sr.department_id, active=True, members=sr.assignee_id)
    return Team.objects.filter(crews).filter(members=user.pk).exists()


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


def can_be_assigned(person: Any, sr: ServiceRequest) -> bool:
    """Whether `person` may be given the request: an active member of its department who may
    work it (a call taker who also belongs to the department may not)."""
    return bool(
        person.is_active
        and sr.department_id in department_ids(person)
        and can_work_request(person, sr)
    )


def get_request_for_user(user: Any, tracking_number: str, *, write: bool = False) -> ServiceRequest:
    """The request with this number if `user` may see it (or work it, with write=True).

    Raises NoSuchRequest for a mistyped or unknown number, and for a request the user may not
    see, worded exactly alike: whether another department's number exists is not told.
    Raises PermissionDenied for a request the user may see but not work.
    """
    sr = get_by_tracking_number(tracking_number)
    if not can_see_request(user, sr):
        raise no_such_request(sr.tracking_number)
    if write and not can_work_request(user, sr):
        raise PermissionDenied("You may read this request but not change it.")
    return sr


def get_link_target_for_user(user: Any, tracking_number: str) -> ServiceRequest:
    """The request `user` names to merge a request into, or to close one as a duplicate of.

    Linking writes to the target's history and ties the request's fate to it, so the user must
    be able to work the target and the request at the end of its duplicate chain (where the
    link lands). A target the user may not see is answered as a number that does not exist.
    """
    target = get_request_for_user(user, tracking_number)
    if not can_work_request(user, target):
        raise RequestError(
            _("Request %(number)s is another department's: transfer this request there instead."),
            code="not_yours",
            number=target.tracking_number,
        )
    root, seen = target, {target.pk}
    while root.duplicate_of is not None and root.duplicate_of_id not in seen:
        root = root.duplicate_of
        seen.add(root.pk)
    if not can_work_request(user, root):
        raise RequestError(
            _(
                "Request %(number)s is itself a duplicate of another department's request: "
                "transfer this request there instead."
            ),
            code="not_yours",
            number=target.tracking_number,
        )
    return target
