"""Reads for the department work pages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import F, QuerySet

from city311.geo.models import BoundaryKind
from city311.servicerequests.access import (
    can_be_assigned,
    can_work_request,
    requests_visible_to,
)
from city311.servicerequests.duplicates import find_duplicates
from city311.servicerequests.models import ServiceRequest


def queue_for_user(user: Any, *, department: str = "") -> QuerySet[ServiceRequest]:
    """Unclosed live requests the user may see (history imported from an earlier system is
    not work): urgent first, then the soonest due.

    Served by the partial index sr_department_queue when filtered to one department.
    """
    requests = requests_visible_to(user).unclosed().live()
    if department:
        requests = requests.filter(department__slug=department)
    return requests.select_related("service_type", "department", "assignee").order_by(
        "-urgent", F("due_at").asc(nulls_last=True), "requested_at"
    )


def department_staff(sr: ServiceRequest) -> list[User]:
    """Who the request may be assigned to (access.can_be_assigned), by name."""
    if sr.department_id is None:
        return []
    members = User.objects.filter(memberships__department_id=sr.department_id, is_active=True)
    return [u for u in members.order_by("first_name", "username") if can_be_assigned(u, sr)]


def possible_duplicates(sr: ServiceRequest, *, for_user: Any) -> list[tuple[ServiceRequest, float]]:
    """Other unclosed requests of the same kind near this one that `for_user` may merge it into
    (other departments' requests are neither offered nor named)."""
    if sr.is_closed or sr.lat is None or sr.long is None:
        return []
    near = find_duplicates(sr.service_type, sr.lat, sr.long, exclude_pk=sr.pk, limit=20)
    return [(other, d) for other, d in near if can_work_request(for_user, other)][:5]


def area_labels(sr: ServiceRequest) -> list[tuple[str, str]]:
    """The areas the request was filed in, as (kind label, area name), city limits left out."""
    labels = dict(BoundaryKind.choices)
    return [
        (str(labels.get(kind, kind.replace("_", " ").capitalize())), area.get("name", ""))
        for kind, area in sr.areas.items()
        if kind != BoundaryKind.CITY_LIMITS
    ]
