"""Reads of service requests."""

from __future__ import annotations

from django.db.models import QuerySet

from city311.servicerequests.errors import NoSuchRequest
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.servicerequests.tracking import InvalidTrackingNumber, normalise


def get_by_tracking_number(text: str) -> ServiceRequest:
    """The request a person means by `text`; NoSuchRequest says what to check when there is none."""
    try:
        number = normalise(text)
    except InvalidTrackingNumber as e:
        raise NoSuchRequest(str(e)) from None
    try:
        return ServiceRequest.objects.select_related("service_type", "department", "assignee").get(
            tracking_number=number
        )
    except ServiceRequest.DoesNotExist:
        raise NoSuchRequest(
            f"There is no request {number}. Check the number on your confirmation."
        ) from None


def history(sr: ServiceRequest, *, public_only: bool = False) -> QuerySet[RequestEvent]:
    events = sr.events.select_related("actor")
    return events.filter(public=True) if public_only else events
