"""The reads behind GET requests and the updates feed, with the spec's defaults."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from city311.servicerequests.models import Attachment, RequestEvent, ServiceRequest, Status
from city311.servicerequests.tracking import InvalidTrackingNumber, normalise
from city311.servicerequests.vocabulary import Event

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
    "service_type__publish_description",
    "department__name",
)


class PublicRow(TypedDict):
    """One request as the Open311 answer reads it: PUBLIC_FIELDS and the primary key."""

    pk: int
    tracking_number: str
    status: str
    status_notes: str
    description: str
    lat: float | None
    long: float | None
    address_string: str
    address_id: str
    zipcode: str
    media_url: str
    requested_at: datetime | None
    updated_at: datetime | None
    due_at: datetime | None
    closed_at: datetime | None
    service_type__service_code: str
    service_type__service_name: str
    service_type__referral: str
    service_type__publish_description: bool
    department__name: str | None
    # False when the request has no uploaded photos (get_request knows; lists do not say).
    has_media: NotRequired[bool]
    # With extensions: the request itself, its public events prefetched.
    request: NotRequired[ServiceRequest]


def public_row(sr: ServiceRequest) -> PublicRow:
    """One request as Open311 shows it, for `render.request` (webhooks send it too)."""
    return _row(sr)


def _row(sr: ServiceRequest) -> PublicRow:
    """A request read as a model (for extensions) in the shape of the plain rows."""
    st, department = sr.service_type, sr.department
    return {
        "pk": sr.pk,
        "tracking_number": sr.tracking_number,
        "status": sr.status,
        "status_notes": sr.status_notes,
        "description": sr.description,
        "lat": sr.lat,
        "long": sr.long,
        "address_string": sr.address_string,
        "address_id": sr.address_id,
        "zipcode": sr.zipcode,
        "media_url": sr.media_url,
        "requested_at": sr.requested_at,
        "updated_at": sr.updated_at,
        "due_at": sr.due_at,
        "closed_at": sr.closed_at,
        "service_type__service_code": st.service_code,
        "service_type__service_name": st.service_name,
        "service_type__referral": st.referral,
        "service_type__publish_description": st.publish_description,
        "department__name": department.name if department else None,
        "request": sr,
    }


def _rows(qs: QuerySet[ServiceRequest], *, extensions: bool) -> list[PublicRow]:
    if extensions:
        extended = qs.select_related(
            "service_type", "department", "duplicate_of", "possible_duplicate_of"
        ).prefetch_related(Prefetch("events", queryset=RequestEvent.objects.filter(public=True)))
        return [_row(sr) for sr in extended]
    # Plain values, not models: a page of 1000 requests builds no model instances.
    return list(qs.values("pk", *PUBLIC_FIELDS))  # type: ignore[arg-type]


def find_requests(filters: Filters, *, extensions: bool = False) -> list[PublicRow]:
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
    return _rows(qs, extensions=extensions)


def _by_status(qs: QuerySet[ServiceRequest], statuses: list[str]) -> QuerySet[ServiceRequest]:
    wanted = set(statuses)
    if wanted == {"closed"}:
        return qs.filter(status=Status.CLOSED)
    if wanted == {"open"}:
        return qs.exclude(status=Status.CLOSED)
    return qs


def media_ids(rows: list[PublicRow]) -> dict[int, list[int]]:
    """The ids of each request's uploaded photos, oldest first, in one query; none at all when
    every row says it has no photos (as `get_request`'s rows do)."""
    found: dict[int, list[int]] = {}
    wanted = [row["pk"] for row in rows if row.get("has_media", True)]
    if not wanted:
        return found
    pairs = Attachment.objects.filter(request_id__in=wanted).order_by("id")
    for request_id, attachment_id in pairs.values_list("request_id", "id"):
        found.setdefault(request_id, []).append(attachment_id)
    return found


@dataclass(frozen=True)
class _Compiled:
    connection: Any
    sql: str
    params: tuple[Any, ...]
    slot: int
    names: list[str]
    compiler: Any
    converters: dict[int, Any]


class CompiledLookup:
    """A values() query compiled to SQL once per thread, then run with a new value each time.

    For a one-row lookup, building Django's SQL costs several times what the database takes to
    answer; this keeps the ORM as the one description of the query (tables, joins, converters)
    and pays for it once per thread and connection. `build` makes the query from the value,
    which must reach the SQL as exactly one parameter (checked when compiling).
    """

    _MARK = "\x00compiled-lookup\x00"

    def __init__(self, build: Callable[[str], QuerySet[Any]], using: str = DEFAULT_DB_ALIAS):
        self._build = build
        self._using = using
        self._local = threading.local()

    def _compiled(self) -> _Compiled:
        connection = connections[self._using]
        compiled: _Compiled | None = getattr(self._local, "compiled", None)
        if compiled is not None and compiled.connection is connection:
            return compiled
        query = self._build(self._MARK).query
        compiler = query.get_compiler(using=self._using)
        sql, params = compiler.as_sql()
        slots = [i for i, p in enumerate(params) if p == self._MARK]
        if len(slots) != 1:
            raise ValueError(f"the looked-up value is {len(slots)} parameters of the query")
        compiled = _Compiled(
            connection=connection,
            sql=sql,
            params=tuple(params),
            slot=slots[0],
            names=[*query.extra_select, *query.values_select, *query.annotation_select],
            compiler=compiler,
            converters=compiler.get_converters([col for col, _, _ in compiler.select]),
        )
        self._local.compiled = compiled
        return compiled

    def rows(self, value: str) -> list[dict[str, Any]]:
        c = self._compiled()
        params = list(c.params)
        params[c.slot] = value
        with c.connection.cursor() as cursor:
            cursor.execute(c.sql, params)
            found: Any = cursor.fetchall()
        if c.converters:
            found = c.compiler.apply_converters(found, c.converters)
        return [dict(zip(c.names, row, strict=True)) for row in found]


def _by_number(number: str) -> QuerySet[Any]:
    photos = Attachment.objects.filter(request_id=OuterRef("pk"))
    return (
        ServiceRequest.objects.filter(tracking_number=number)
        .order_by()
        .values("pk", *PUBLIC_FIELDS)
        .annotate(has_media=Exists(photos))
    )


_lookup_by_number = CompiledLookup(_by_number)


def get_request(tracking_number: str, *, extensions: bool = False) -> PublicRow:
    """By tracking number, in one query; NoSuchRequest (worded by the domain) when there is none.

    The plain row says whether the request has photos, so `media_ids` asks only when it does.
    """
    from city311.servicerequests.queries import get_by_tracking_number

    try:
        number = normalise(tracking_number)
    except InvalidTrackingNumber:
        number = ""
    if number and not extensions:
        found = _lookup_by_number.rows(number)
        if found:
            row: PublicRow = found[0]  # type: ignore[assignment]
            return row
    elif number:
        extended = _rows(ServiceRequest.objects.filter(tracking_number=number), extensions=True)
        if extended:
            return extended[0]
    # Not there, or not a tracking number: the domain says which (it raises NoSuchRequest).
    sr = get_by_tracking_number(tracking_number)
    # Filed between the two reads.
    return _rows(ServiceRequest.objects.filter(pk=sr.pk), extensions=extensions)[0]


# How the city routes a request inside (departments, people) is not an update for residents.
INTERNAL_KINDS = (Event.ROUTED, Event.TRANSFERRED, Event.ASSIGNED)
# A window this short is answered whole when no page is asked for: a client that never pages
# (FixMyStreet asks for the last hours) loses nothing however busy the city is.
WHOLE_WINDOW = timedelta(days=7)


def find_updates(
    start: datetime | None,
    end: datetime | None,
    *,
    page: int | None,
    page_size: int,
    not_from: int | None = None,
) -> list[RequestEvent]:
    """Public events in the window, oldest first: what FixMyStreet reads as updates.

    Without a page, a window of at most WHOLE_WINDOW comes whole; otherwise pages of
    `page_size`. `not_from`: an API key's id, whose own posted updates are left out (the
    application has them already).
    """
    start, end = window(start, end)
    qs = (
        RequestEvent.objects.filter(public=True, at__range=(start, end))
        .exclude(kind__in=INTERNAL_KINDS)
        .select_related("request")
        # What an update shows: not the request's answers, areas and other columns.
        .only(
            "kind",
            "at",
            "note",
            "data",
            "request__tracking_number",
            "request__closed_at",
            "request__status",
            "request__resolution",
        )
        .order_by("at", "id")
    )
    if not_from is not None:
        from city311.open311.models import ClientUpdate

        qs = qs.exclude(pk__in=ClientUpdate.objects.filter(key=not_from).values("event_id"))
    if page is None and end - start <= WHOLE_WINDOW:
        return list(qs.iterator(chunk_size=2000))
    offset = ((page or 1) - 1) * page_size
    return list(qs[offset : offset + page_size])
