"""What each Open311 resource says, as plain dictionaries in the spec's field order.

Public by design: nothing here reads the reporter's Contact, and nothing that is only for staff
(internal notes, assignees) goes out.
"""

from __future__ import annotations

from datetime import datetime
from typing import NotRequired, TypedDict

from city311.catalog.models import ServiceAttribute, ServiceType
from city311.cities import profile
from city311.geo.locate import PRECISIONS
from city311.open311.queries import PublicRow
from city311.servicerequests import expected
from city311.servicerequests.expected import expected_words
from city311.servicerequests.models import RequestEvent, Resolution, ServiceRequest, Status
from city311.servicerequests.publish import public_description
from city311.servicerequests.publish import public_text as published_text
from city311.servicerequests.vocabulary import Event

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


def w3c(moment: datetime | None) -> str | None:
    """A W3C datetime in the city's time zone, always with its offset."""
    if moment is None:
        return None
    return moment.astimezone(profile.zone()).isoformat(timespec="seconds")


def _or_none(text: str) -> str | None:
    return text or None


class Service(TypedDict):
    service_code: str
    service_name: str
    description: str | None
    metadata: bool
    type: str
    keywords: str | None
    group: str


class Value(TypedDict):
    key: str
    name: str


class Attribute(TypedDict):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[Value]


class ServiceDefinition(TypedDict):
    service_code: str
    attributes: list[Attribute]


def service(st: ServiceType, *, metadata: bool) -> Service:
    return {
        "service_code": st.service_code,
        "service_name": st.service_name,
        "description": _or_none(st.description),
        "metadata": metadata,
        "type": "realtime",
        # FixMyStreet splits keywords on "," without trimming: no spaces after the commas.
        "keywords": _or_none(",".join(st.keyword_list())),
        "group": st.group,
    }


def attribute(a: ServiceAttribute) -> Attribute:
    return {
        "variable": a.variable,
        "code": a.code,
        "datatype": a.datatype,
        "required": a.required,
        "datatype_description": _or_none(a.datatype_description),
        "order": a.order,
        "description": a.description,
        "values": [{"key": v.key, "name": v.name} for v in a.values.all()] if a.has_values else [],
    }


def service_definition(st: ServiceType) -> ServiceDefinition:
    return {
        "service_code": st.service_code,
        "attributes": [attribute(a) for a in st.attributes.all()],
    }


class Area(TypedDict):
    kind: str
    code: str
    name: str


class Note(TypedDict):
    datetime: str | None
    type: str
    summary: str
    description: str | None


class ExtendedAttributes(TypedDict):
    channel: str
    application: str | None
    department: str | None
    areas: list[Area]
    duplicate: bool
    parent_service_request_id: str | None
    possible_duplicate_of: str | None
    location_precision: str | None
    location_to_verify: bool
    media: list[str]
    notes: list[Note]
    expected_close: str | None
    expected_close_within_hours: float | None
    expected_close_typical_hours: float | None


class Request(TypedDict):
    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None
    extended_attributes: NotRequired[ExtendedAttributes]


def open311_status(status: str) -> str:
    return "closed" if status == Status.CLOSED else "open"


def public_text(text: str) -> str | None:
    """What a person wrote, as Open311 publishes it (servicerequests.publish), or None."""
    return _or_none(published_text(text))


def note(event: RequestEvent) -> Note:
    return {
        "datetime": w3c(event.at),
        "type": event.kind.removeprefix("request."),
        "summary": event.label,
        "description": public_text(event.note),
    }


def request(row: PublicRow, *, media_urls: list[str]) -> Request:
    """One request. `media_urls`: its uploaded photos' public addresses, oldest first. A row
    read with extensions (it holds the request) also gets the extended attributes."""
    media = ([row["media_url"]] if row["media_url"] else []) + media_urls
    out: Request = {
        "service_request_id": row["tracking_number"],
        "status": open311_status(row["status"]),
        "status_notes": public_text(row["status_notes"]),
        "service_name": row["service_type__service_name"],
        "service_code": row["service_type__service_code"],
        # Withheld for the types the city says residents' words are not published.
        "description": public_description(
            row["description"], published=row["service_type__publish_description"]
        )
        or None,
        "agency_responsible": row["department__name"],
        "service_notice": row["service_type__referral"] or None,
        "requested_datetime": w3c(row["requested_at"]),
        "updated_datetime": w3c(row["closed_at"] or row["updated_at"]),
        "expected_datetime": w3c(row["due_at"]),
        "address": row["address_string"],
        "address_id": row["address_id"] or None,
        "zipcode": row["zipcode"] or None,
        "lat": row["lat"],
        "long": row["long"],
        "media_url": media[0] if media else None,
    }
    sr = row.get("request")
    if sr is not None:
        out["extended_attributes"] = extended_attributes(sr, media)
    return out


def location_precision(sr: ServiceRequest) -> str | None:
    """How the place was found, in the words of `geo.locate.PRECISIONS` (older requests say
    "point" for a pin)."""
    match = "pin" if sr.location_match == "point" else sr.location_match
    return match if match in PRECISIONS else None


def extended_attributes(sr: ServiceRequest, media: list[str]) -> ExtendedAttributes:
    parent = sr.duplicate_of
    possible = sr.possible_duplicate_of
    estimate = expected.for_request(sr) if not sr.is_closed else None
    return {
        "channel": sr.channel,
        "application": _or_none(sr.application),
        "department": sr.department.name if sr.department else None,
        "areas": [
            {"kind": kind, "code": area.get("code", ""), "name": area.get("name", "")}
            for kind, area in sorted((sr.areas or {}).items())
        ],
        "duplicate": parent is not None,
        "parent_service_request_id": parent.tracking_number if parent else None,
        "possible_duplicate_of": possible.tracking_number if possible else None,
        "location_precision": location_precision(sr),
        "location_to_verify": sr.location_to_verify,
        "media": media,
        "notes": [note(e) for e in sr.events.all() if e.public],
        # The history's forecast; expected_datetime stays the SLA's promise.
        "expected_close": expected_words(sr) or None,
        "expected_close_within_hours": _hours(estimate.most_within_hours) if estimate else None,
        "expected_close_typical_hours": _hours(estimate.typical_hours) if estimate else None,
    }


def _hours(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


class Update(TypedDict):
    update_id: str
    service_request_id: str
    status: str
    updated_datetime: str | None
    description: str | None
    media_url: str | None


# FixMyStreet's words for how a request was closed (its Open311 update states).
FIXMYSTREET_CLOSED: dict[str, str] = {
    Resolution.COMPLETED: "FIXED",
    Resolution.DUPLICATE: "DUPLICATE",
    Resolution.NO_ACTION: "NO_FURTHER_ACTION",
    Resolution.REFERRED: "NOT_COUNCILS_RESPONSIBILITY",
    Resolution.CANCELLED: "CLOSED",
}


def fixmystreet_status(event: RequestEvent, closed: bool) -> str:
    """The request's state after `event`, in FixMyStreet's words."""
    if event.kind == Event.CLOSED:
        resolution = (event.data or {}).get("resolution", "")
        return FIXMYSTREET_CLOSED.get(resolution, "CLOSED")
    if closed:
        return FIXMYSTREET_CLOSED.get(event.request.resolution, "CLOSED")
    if event.kind == Event.REOPENED:
        return "OPEN"
    if event.kind == Event.STARTED or event.request.status == Status.IN_PROGRESS:
        return "IN_PROGRESS"
    return "OPEN"


def update(event: RequestEvent, *, fixmystreet: bool = False) -> Update:
    """A public event as an entry of the service request updates feed. `fixmystreet`: the
    status in FixMyStreet's words (IN_PROGRESS, FIXED, DUPLICATE…) instead of open/closed."""
    sr = event.request
    if event.kind == Event.CLOSED:
        closed = True
    elif event.kind == Event.REOPENED:
        closed = False
    else:
        closed = sr.closed_at is not None and event.at >= sr.closed_at
    status = "closed" if closed else "open"
    if fixmystreet:
        status = fixmystreet_status(event, closed)
    return {
        "update_id": str(event.pk),
        "service_request_id": sr.tracking_number,
        "status": status,
        "updated_datetime": w3c(event.at),
        "description": public_text(event.note) or event.label,
        "media_url": None,
    }
