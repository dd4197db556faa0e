"""The reads behind GET requests and the updates feed, with the spec's defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from city311.servicerequests.models import Attachment, RequestEvent, ServiceRequest, Status
from city311.servicerequests.tracking import InvalidTrackingNumber, normalise

# "Default query limit is a span of 90 days or first 1000 requests returned, whichever is
# smallest." A page may hold no more than that either.
MAX_SPAN = timedelta(days=90)
MAX_RESULTS = 1000


class BadQuery(ValueError):
    """The filters cannot be met; the message says what to send instead."""


@dataclass
class Filters:
    service_request_ids: list[str] = field(default_factory=list)
    service_codes: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    page: int = 1
    page_size: int = MAX_RESULTS


def window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The spec's window: at most 90 days, the most recent 90 when neither end is given."""
    if start and end and end < start:
        raise BadQuery("end_date is before start_date: send an end_date after the start_date.")
    if start and end and end - start > MAX_SPAN:
        raise BadQuery("start_date and end_date may not span more than 90 days.")
    if start and not end:
        end = min(start + MAX_SPAN, max(start, timezone.now()))
    if end and not start:
        start = end - MAX_SPAN
    if not start or not end:
        end = timezone.now()
        start = end - MAX_SPAN
    return start, end


# What the plain Open311 answer reads: no JSON columns to decode, no catalog text it does not show.
PUBLIC_FIELDS = (
    "tracking_number",
    "status",
    "status_notes",
    "description",
    "lat",
    "long",
    "address_string",
    "address_id",
    "zipcode",
    "media_url",
    "requested_at",
    "updated_at",
    "due_at",
    "closed_at",
    "service_type__service_code",
    "service_type__service_name",
    "service_type__referral",
    "department__name",
)


def _public_shape(qs: QuerySet[ServiceRequest], *, extensions: bool) -> QuerySet[ServiceRequest]:
    qs = qs.select_related("service_type", "department")
    if not extensions:
        return qs.only(*PUBLIC_FIELDS)
    return qs.select_related("duplicate_of", "possible_duplicate_of").prefetch_related(
        Prefetch("events", queryset=RequestEvent.objects.filter(public=True))
    )


def find_requests(filters: Filters, *, extensions: bool = False) -> list[ServiceRequest]:
    qs: QuerySet[ServiceRequest] = ServiceRequest.objects.all()
    if filters.service_request_ids:
        # The ids override every other filter (the spec).
        numbers = []
        for text in filters.service_request_ids[:MAX_RESULTS]:
            try:
                numbers.append(normalise(text))
            except InvalidTrackingNumber:
                continue
        qs = qs.filter(tracking_number__in=numbers)
    else:
        if filters.updated_after or filters.updated_before:
            if filters.updated_after:
                qs = qs.filter(updated_at__gt=filters.updated_after)
            if filters.updated_before:
                qs = qs.filter(updated_at__lt=filters.updated_before)
            if filters.start or filters.end:
                start, end = window(filters.start, filters.end)
                qs = qs.filter(requested_at__range=(start, end))
        else:
            start, end = window(filters.start, filters.end)
            qs = qs.filter(requested_at__range=(start, end))
        if filters.service_codes:
            qs = qs.filter(service_type__service_code__in=filters.service_codes)
        if filters.statuses:
            qs = _by_status(qs, filters.statuses)
    offset = (filters.page - 1) * filters.page_size
    qs = qs.order_by("-requested_at", "-id")[offset : offset + filters.page_size]
    return list(_public_shape(qs, extensions=extensions))


def _by_status(qs: QuerySet[ServiceRequest], statuses: list[str]) -> QuerySet[ServiceRequest]:
    wanted = set(statuses)
    if wanted == {"closed"}:
        return qs.filter(status=Status.CLOSED)
    if wanted == {"open"}:
        return qs.exclude(status=Status.CLOSED)
    return qs


def media_ids(rows: list[ServiceRequest]) -> dict[int, list[int]]:
    """The ids of each request's uploaded photos, oldest first, in one query."""
    found: dict[int, list[int]] = {}
    pairs = Attachment.objects.filter(request_id__in=[sr.pk for sr in rows]).order_by("id")
    for request_id, attachment_id in pairs.values_list("request_id", "id"):
        found.setdefault(request_id, []).append(attachment_id)
    return found


def get_request(tracking_number: str, *, extensions: bool = False) -> ServiceRequest:
    """By tracking number; NoSuchRequest (from normalise or the lookup) when there is none."""
    from city311.servicerequests.queries import get_by_tracking_number

    sr = get_by_tracking_number(tracking_number)
    return _public_shape(ServiceRequest.objects.filter(pk=sr.pk), extensions=extensions).get()


def find_updates(
    start: datetime | None, end: datetime | None, *, page: int, page_size: int
) -> list[RequestEvent]:
    """Public events in the window, oldest first: what FixMyStreet reads as updates."""
    start, end = window(start, end)
    offset = (page - 1) * page_size
    return list(
        RequestEvent.objects.filter(public=True, at__range=(start, end))
        .select_related("request")
        .order_by("at", "id")[offset : offset + page_size]
    )
