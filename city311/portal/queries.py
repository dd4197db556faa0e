"""Reads for the public pages: one request's public face, recent requests, their map points.

Everything here is public. It never reads Contact, descriptions (residents write names and phone
numbers in them), internal events or staff names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

import shapely
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape

from city311.catalog import cache as catalog_cache
from city311.catalog.models import ServiceType
from city311.cities import profile
from city311.geo.datasets import current_versions
from city311.geo.models import Boundary, BoundaryKind
from city311.lib import phones
from city311.lib.text import redact
from city311.servicerequests import vocabulary
from city311.servicerequests.models import (
    Attachment,
    RequestEvent,
    ServiceRequest,
    Status,
)
from city311.servicerequests.vocabulary import PUBLIC_EVENT_LABELS, Event

# The kind of area the recent-requests page filters by: the first of these the city has loaded.
DISTRICT_KINDS = (
    BoundaryKind.COUNCIL_DISTRICT,
    BoundaryKind.COMMUNITY_DISTRICT,
    BoundaryKind.NEIGHBORHOOD,
    BoundaryKind.BOROUGH,
    BoundaryKind.SERVICE_ZONE,
)
PAGE_SIZE = 25
MAP_POINTS = 500
MAP_DAYS = 90


def status_words(sr: ServiceRequest) -> str:
    return vocabulary.status_words(sr.status, sr.resolution)


@dataclass
class PublicEvent:
    at: datetime
    label: str
    note: str
    who: str


def _departments() -> dict[str, str]:
    return {d.slug: d.translated("name") for d in catalog_cache.departments()}


def _note(event: RequestEvent, departments: dict[str, str]) -> str:
    """The event's public note in the page's language; city311's own wording is rebuilt."""
    data = event.data or {}
    if event.kind == Event.ROUTED:
        name = departments.get(data.get("department") or "", "")
        return _("Sent to %(department)s.") % {"department": name} if name else ""
    if event.kind == Event.TRANSFERRED:
        name = departments.get(data.get("to") or "", "")
        return _("Now handled by %(department)s.") % {"department": name} if name else ""
    if event.kind == Event.MERGED:
        return _("Request %(number)s was the same problem and now follows this one.") % {
            "number": data.get("duplicate", "")
        }
    if event.kind in (Event.SUBMITTED, Event.IMPORTED):
        return ""
    if event.kind == Event.REOPENED and event.actor_id is None:
        # A resident's own words can hold their name or number: say what happened, not the words.
        return _("A resident said the problem is not fixed.")
    if "words" in data:
        # city311's own words, in the page's language (vocabulary.event_note): no one's number
        # in them, and a tracking number must not be taken for a phone number.
        return event.text
    # Staff notes can quote a number or an address too.
    return redact(event.text, phones.region())


def latest_word(sr: ServiceRequest) -> str:
    """The city's latest public word (what was done, once closed) in the page's language when
    city311 wrote it itself (a merged request's "same problem as..."), without numbers."""
    if not sr.status_notes:
        return ""
    said = (
        sr.events.filter(public=True, note=sr.status_notes, data__has_key="words")
        .order_by("-id")
        .first()
    )
    if said is not None:
        return said.text
    typed = redact(sr.status_notes, phones.region())
    closed = sr.is_closed and (
        sr.events.filter(kind=Event.CLOSED, note=sr.status_notes).order_by("-id").first()
    )
    if closed and vocabulary.typed_in_another_language(closed.data):
        # The closer's words stay as typed, labelled as theirs, after the city's own.
        theirs = _("In the crew's words: “%(words)s”") % {"words": typed}
        return f"{vocabulary.resolution_words(sr.resolution)} {theirs}".strip()
    return typed


def public_history(sr: ServiceRequest) -> list[PublicEvent]:
    """The public events, oldest first, labelled in the page's language, without staff names."""
    departments = _departments()
    city = _("City of %(city)s") % {"city": profile.current().name}
    department = departments.get(sr.department.slug, "") if sr.department else ""
    shown = []
    for event in sr.events.filter(public=True, kind__in=list(PUBLIC_EVENT_LABELS)):
        by_staff = event.actor_id is not None
        shown.append(
            PublicEvent(
                at=event.at,
                label=str(PUBLIC_EVENT_LABELS[event.kind]),
                note=_note(event, departments),
                who=(department or city) if by_staff else "",
            )
        )
    return shown


def photos(sr: ServiceRequest) -> list[Attachment]:
    return list(Attachment.objects.filter(request=sr).order_by("uploaded_at", "id"))


# Recent requests


@dataclass
class Filters:
    service_code: str = ""
    status: str = ""  # "", "open" or "closed"
    district: str = ""  # a code of district_kind()

    def apply(self, rows: QuerySet[ServiceRequest]) -> QuerySet[ServiceRequest]:
        if self.service_code:
            # By id, not through a join on the code: the planner can then read the type's rows
            # newest first from sr_type_requested_at instead of filtering the whole history.
            found = catalog_cache.catalog().by_code.get(self.service_code)
            type_id = found.pk if found else None
            rows = rows.filter(service_type_id=type_id) if type_id else rows.none()
        if self.status == "open":
            rows = rows.exclude(status=Status.CLOSED)
        elif self.status == "closed":
            rows = rows.filter(status=Status.CLOSED)
        kind = district_kind()
        if self.district and kind:
            rows = rows.filter(**{f"areas__{kind}__code": self.district})
        return rows


def _versioned(name: str) -> str:
    """A cache key that changes whenever boundaries are imported."""
    version = hashlib.sha1(repr(current_versions(("boundaries",))).encode()).hexdigest()[:16]
    return f"{name}:{version}"


def filters_from(params: Mapping[str, str]) -> Filters:
    """The filters in a query string; anything unknown is ignored."""
    status = params.get("status", "")
    return Filters(
        service_code=params.get("service_code", "")[:60],
        status=status if status in ("open", "closed") else "",
        district=params.get("district", "")[:60],
    )


def district_kind() -> str:
    """The kind of area residents filter by, cached with the boundaries' version."""
    key = _versioned("portal-district-kind")
    kind = cache.get(key)
    if kind is None:
        loaded = set(Boundary.objects.values_list("kind", flat=True).distinct())
        kind = next((k.value for k in DISTRICT_KINDS if k in loaded), "")
        cache.set(key, kind, 3600)
    return str(kind)


def districts() -> list[tuple[str, str]]:
    """(code, name) of every district residents can filter by, in name order."""
    kind = district_kind()
    if not kind:
        return []
    rows = Boundary.objects.filter(kind=kind).values_list("code", "name")
    return sorted(rows, key=lambda row: _natural(row[1]))


def _natural(name: str) -> tuple[Any, ...]:
    # "District 2" before "District 10".
    digits = "".join(c for c in name if c.isdecimal())
    return (name.rstrip("0123456789 "), int(digits) if digits else 0, name)


def _public_rows() -> QuerySet[ServiceRequest]:
    return ServiceRequest.objects.select_related("service_type").only(
        "tracking_number",
        "status",
        "resolution",
        "address_string",
        "lat",
        "long",
        "requested_at",
        "areas",
        "service_type__service_code",
        "service_type__service_name",
    )


@dataclass
class Page:
    rows: list[ServiceRequest]
    older: int | None  # the id to pass as ?before= for the next page, None on the last page
    newer: bool


def recent_requests(filters: Filters, *, before: int | None = None) -> Page:
    """Newest first, PAGE_SIZE at a time, keyset-paged on (requested_at, id).

    Keyset paging stays as fast on page 1,000 as on page 1: each page starts from an index
    position instead of counting past every earlier row.
    """
    rows = filters.apply(_public_rows()).order_by("-requested_at", "-id")
    if before is not None:
        start = ServiceRequest.objects.filter(pk=before).values_list("requested_at", flat=True)
        at = start.first()
        if at is not None:
            # "Older than (at, before)" as a range on requested_at minus the ties already shown:
            # an OR of the two cases would stop the database from seeking into the index.
            rows = rows.filter(requested_at__lte=at).exclude(requested_at=at, id__gte=before)
    found = list(rows[: PAGE_SIZE + 1])
    older = found[PAGE_SIZE - 1].pk if len(found) > PAGE_SIZE else None
    return Page(rows=found[:PAGE_SIZE], older=older, newer=before is not None)


class Bbox(TypedDict):
    west: float
    south: float
    east: float
    north: float


class PointProperties(TypedDict):
    tracking_number: str
    service_code: str
    service_name: str
    status: str
    requested_at: str
    url: str


@dataclass
class MapPoint:
    tracking_number: str
    service_code: str
    service_name: str
    closed: bool
    status_words: str
    requested_at: datetime
    lat: float
    long: float


def map_points(filters: Filters, bbox: Bbox | None) -> list[MapPoint]:
    """The newest MAP_POINTS requests of the last MAP_DAYS with a place, within the box if given.

    The window bounds the work when a small box holds few requests: the scan runs down the
    requested_at index and stops at MAP_DAYS, never through the whole history. Rows are read
    as plain values: building 500 model instances was most of the answer's time.
    """
    since = timezone.now() - timedelta(days=MAP_DAYS)
    rows = filters.apply(ServiceRequest.objects.all()).filter(
        requested_at__gte=since, lat__isnull=False, long__isnull=False, location_to_verify=False
    )
    if bbox is not None:
        rows = rows.filter(
            lat__gte=bbox["south"],
            lat__lte=bbox["north"],
            long__gte=bbox["west"],
            long__lte=bbox["east"],
        )
    found = list(
        rows.order_by("-requested_at", "-id").values_list(
            "tracking_number",
            "service_type_id",
            "status",
            "resolution",
            "requested_at",
            "lat",
            "long",
        )[:MAP_POINTS]
    )
    types = {pk: catalog_cache.service_type(pk) for pk in {row[1] for row in found}}
    missing = {pk for pk, t in types.items() if t is None}
    if missing:  # created since this request's snapshot was checked
        types |= ServiceType.objects.in_bulk(missing)
    names = {pk: (t.service_code, t.translated("service_name")) for pk, t in types.items() if t}
    return [
        MapPoint(
            tracking_number=number,
            service_code=names[type_id][0],
            service_name=names[type_id][1],
            closed=status == Status.CLOSED,
            status_words=vocabulary.status_words(status, resolution),
            requested_at=at,
            lat=lat,
            long=long,
        )
        for number, type_id, status, resolution, at, lat, long in found
        if lat is not None and long is not None
    ]


# The city limits, for the map's blank base


def city_limits_geojson() -> str:
    """The city limits as a small GeoJSON FeatureCollection, simplified to about 20 m.

    Cached by the boundaries' version: simplifying a few megabytes of coastline takes seconds,
    and the limits change only when an administrator imports new ones.
    """
    key = _versioned("portal-city-limits")
    text = cache.get(key)
    if text is None:
        features = []
        for b in Boundary.objects.filter(kind=BoundaryKind.CITY_LIMITS):
            geometry = shapely.set_precision(
                shapely.simplify(shape(b.geometry), 0.0002, preserve_topology=True), 0.00001
            )
            features.append(
                {"type": "Feature", "properties": {"name": b.name}, "geometry": mapping(geometry)}
            )
        text = json.dumps({"type": "FeatureCollection", "features": features})
        cache.set(key, text, 24 * 3600)
    return str(text)
