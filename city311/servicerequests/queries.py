"""Reads of service requests."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from city311.servicerequests.errors import NoSuchRequest
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.servicerequests.tracking import InvalidTrackingNumber, normalise
from city311.servicerequests.vocabulary import Event


def get_by_tracking_number(text: str) -> ServiceRequest:
    """The request a person means by `text`; NoSuchRequest says what to check when there is none."""
    try:
        number = normalise(text)
    except InvalidTrackingNumber as e:
        raise NoSuchRequest(str(e), code="not_a_tracking_number") from None
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
        _("There is no request %(number)s. Check the number on your confirmation."),
        code="no_such_request",
        number=number,
    )


def history(sr: ServiceRequest, *, public_only: bool = False) -> QuerySet[RequestEvent]:
    events = sr.events.select_related("actor")
    return events.filter(public=True) if public_only else events


def resident_says_fixed(sr: ServiceRequest) -> RequestEvent | None:
    """The resident's "it's fixed" (an application's FIXED or CLOSED update) that staff have not
    acted on: the request is still open and nobody reopened it since. For the work page's
    prompt to close it; a resident's word never closes a request by itself."""
    if sr.is_closed:
        return None
    latest = (
        sr.events.filter(Q(kind=Event.REOPENED) | Q(data__has_key="resident_says"))
        .order_by("-id")
        .first()
    )
    if latest is None or (latest.data or {}).get("resident_says") != "fixed":
        return None
    return latest


def photo_links(sr: ServiceRequest) -> list[str]:
    """The photo links applications sent with the request and its updates, oldest first."""
    links = [sr.media_url] if sr.media_url else []
    for data in sr.events.filter(data__has_key="media_url").values_list("data", flat=True):
        link = str(data.get("media_url") or "")
        if link and link not in links:
            links.append(link)
    return links


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
