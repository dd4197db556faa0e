"""Reads of service requests."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

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
        raise no_such_request(number) from None


def no_such_request(number: str) -> NoSuchRequest:
    """The answer for a well-formed number with no request behind it (or none this person may
    see: the two must read the same, so staff learn nothing of other departments' requests)."""
    return NoSuchRequest(
        _("There is no request %(number)s. Check the number on your confirmation.")
        % {"number": number}
    )


def history(sr: ServiceRequest, *, public_only: bool = False) -> QuerySet[RequestEvent]:
    events = sr.events.select_related("actor")
    return events.filter(public=True) if public_only else events


def popular_service_codes(*, days: int = 90, limit: int = 6) -> list[str]:
    """The types residents asked for most in the last `days`, most first (for the home page).

    Cached for a quarter of an hour: with millions of requests the count is not free, and the
    answer changes slowly.
    """
    key = f"popular-service-codes:{days}:{limit}"
    codes = cache.get(key)
    if codes is None:
        since = timezone.now() - timedelta(days=days)
        rows = (
            ServiceRequest.objects.filter(requested_at__gte=since)
            .values("service_type__service_code")
            .annotate(n=Count("id"))
            .order_by("-n")[:limit]
        )
        codes = [row["service_type__service_code"] for row in rows]
        cache.set(key, codes, 15 * 60)
    return list(codes)
