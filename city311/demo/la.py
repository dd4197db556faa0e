"""Los Angeles, the second demo city: its real MyLA311 records mapped onto its catalog as
history, and LA Sanitation's holiday rule for collections.

The three record files have different column sets (33 CamelCase columns in 2017-18, 24
lower-case ones in 2020) and date formats; `read_records` reads them all. The pack's geography
is built from the same records by `build_la`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from city311.demo.build_la import point, read_rows, record_files, split_address
from city311.servicerequests.imports import HistoricalRecord
from city311.servicerequests.models import Channel, Resolution

SOURCE = "MyLA311 open data"
LA = ZoneInfo("America/Los_Angeles")

# MyLA311's request types, as the records spell them, to the demo catalog's service codes.
SERVICE_CODES = {
    "Bulky Items": "bulky_items",
    "Graffiti Removal": "graffiti_removal",
    "Illegal Dumping Pickup": "illegal_dumping",
    "Metal/Household Appliances": "metal_appliances",
    "Electronic Waste": "electronic_waste",
    "Homeless Encampment": "homeless_encampment",
    "Dead Animal Removal": "dead_animal",
    "Single Streetlight Issue": "streetlight_single",
    "Multiple Streetlight Issue": "streetlight_multiple",
    "Report Water Waste": "water_waste",
    "Feedback": "feedback",
    "Other": "other_request",
}
# Where the records' "RequestSource" says the resident came from. "Driver Self Report" is a
# sanitation driver logging what they saw on the route: the city's own staff.
CHANNELS = {
    "Call": Channel.PHONE,
    "Voicemail": Channel.PHONE,
    "Mobile App": Channel.MOBILE_APP,
    "Self Service": Channel.WEB,
    "Email": Channel.EMAIL,
    "Walk-in": Channel.WALK_IN,
    "Driver Self Report": Channel.STAFF,
    "Council's Office": Channel.STAFF,
}
# The records' Status to an outcome; "Open" and "Pending" are still open.
OUTCOMES = {
    "Closed": Resolution.COMPLETED,
    "Cancelled": Resolution.CANCELLED,
    "Referred Out": Resolution.REFERRED,
}
# Request types LA Sanitation collects on a scheduled day (the records' ServiceDate).
COLLECTIONS = {"Bulky Items", "Metal/Household Appliances", "Electronic Waste"}
NOTES: dict[str, str] = {
    Resolution.COMPLETED: "Closed by the city.",
    Resolution.CANCELLED: "Cancelled.",
    Resolution.REFERRED: "Referred to another agency.",
}
_TIME = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2}) (\d{1,2}):(\d{2})(?::(\d{2}))?(?: ([AP]M))?$"
)


def parse_time(text: str) -> datetime | None:
    """A record's local time in either file's format ("12/31/2017 11:59:58 PM", "1/1/20 0:05");
    None when empty or unreadable. A pattern rather than strptime: 120,000 of these are read."""
    match = _TIME.match(text)
    if match is None:
        return None
    month, day, year, hour, minute, second, half = match.groups()
    hour_of_day = int(hour) % 12 + (12 if half == "PM" else 0) if half else int(hour)
    try:
        return datetime(
            int(year) + (2000 if len(year) == 2 else 0),
            int(month),
            int(day),
            hour_of_day,
            int(minute),
            int(second or 0),
            tzinfo=LA,
        )
    except ValueError:
        return None


def read_records(path: Path) -> Iterator[HistoricalRecord]:
    for row in read_rows(path):
        record = to_record(row)
        if record is not None:
            yield record


def records() -> Iterator[HistoricalRecord]:
    for path in record_files():
        yield from read_records(path)


def to_record(row: dict[str, str]) -> HistoricalRecord | None:
    """One MyLA311 row as history; None for a row with no creation time."""
    created = parse_time(row.get("createddate", ""))
    if created is None:
        return None
    request_type = row.get("requesttype", "")
    resolution = OUTCOMES.get(row.get("status", ""))
    closed = None
    if resolution is not None:
        closed = parse_time(row.get("closeddate", "")) or parse_time(row.get("updateddate", ""))
        closed = max(closed or created, created)
    service_day = parse_time(row.get("servicedate", ""))
    scheduled = _day(service_day) if service_day and request_type in COLLECTIONS else ""
    description = (
        f"{request_type}: collection scheduled for {scheduled}" if scheduled else request_type
    )
    address, zipcode = split_address(row.get("address", ""))
    lat_long = point(row)
    return HistoricalRecord(
        service_code=SERVICE_CODES.get(request_type, "other_request"),
        requested_at=created,
        external_id=row.get("srnumber", ""),
        description=description,
        lat=lat_long[0] if lat_long else None,
        long=lat_long[1] if lat_long else None,
        address_string=address,
        zipcode=zipcode or row.get("zipcode", "")[:5],
        closed_at=closed,
        resolution=resolution or Resolution.COMPLETED,
        resolution_note=_note(resolution, row.get("actiontaken", ""), scheduled) if closed else "",
        channel=CHANNELS.get(row.get("requestsource", ""), Channel.IMPORT),
    )


def _note(resolution: str | None, action: str, scheduled: str) -> str:
    """The public closing note: the outcome, the collection day it was scheduled for, and what
    MyLA311 says was done when it says more than that the request was created or updated."""
    note = NOTES.get(resolution or "", "Closed.")
    if scheduled and resolution == Resolution.COMPLETED:
        note = f"Closed after the collection scheduled for {scheduled}."
    if action and action not in ("SR Created", "SR Updated"):
        note += f" {action}."
    return note


def _day(moment: datetime) -> str:
    return f"{moment:%A, %B} {moment.day}, {moment.year}"
