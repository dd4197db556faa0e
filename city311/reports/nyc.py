"""New York City's 311 open data, "311 Service Requests from 2010 to Present": its columns,
how it writes times, channels and states, and how its complaint types map onto a catalog.

One description of the format for everything that reads or writes it: the open-data export
(`reports.opendata`), `city311 import_nyc` (`reports.nycimport`) and the New York demo's history
(`demo/cities/nyc/history.py`). The files in circulation come in several layouts (the portal's
"Export CSV" with display names, the SODA API's field names, older 52-column files, a headerless
extract): `canonical` reads any header onto the 41 field names below.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, tzinfo
from pathlib import Path

from city311.servicerequests.vocabulary import Channel, Resolution, Status

# The 41 columns of the dataset, as its CSV export names them, in its order.
COLUMNS = [
    "Unique Key",
    "Created Date",
    "Closed Date",
    "Agency",
    "Agency Name",
    "Complaint Type",
    "Descriptor",
    "Location Type",
    "Incident Zip",
    "Incident Address",
    "Street Name",
    "Cross Street 1",
    "Cross Street 2",
    "Intersection Street 1",
    "Intersection Street 2",
    "Address Type",
    "City",
    "Landmark",
    "Facility Type",
    "Status",
    "Due Date",
    "Resolution Description",
    "Resolution Action Updated Date",
    "Community Board",
    "BBL",
    "Borough",
    "X Coordinate (State Plane)",
    "Y Coordinate (State Plane)",
    "Open Data Channel Type",
    "Park Facility Name",
    "Park Borough",
    "Vehicle Type",
    "Taxi Company Borough",
    "Taxi Pick Up Location",
    "Bridge Highway Name",
    "Bridge Highway Direction",
    "Road Ramp",
    "Bridge Highway Segment",
    "Latitude",
    "Longitude",
    "Location",
]


def field_name(header: str) -> str:
    """A column's API field name, whichever way a file names it: "X Coordinate (State Plane)"
    and "x_coordinate_state_plane" are both x_coordinate_state_plane."""
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


FIELDS = [field_name(c) for c in COLUMNS]
# Files without a header, recognised by their number of columns: the full export, and a
# five-column extract in circulation (unique key, dates, type, borough).
HEADERLESS = {
    len(FIELDS): FIELDS,
    5: ["unique_key", "created_date", "closed_date", "complaint_type", "borough"],
}
UNSPECIFIED = "Unspecified"

# The dataset's channels; city311's other channels are written as their own codes in capitals
# (EMAIL, WALK_IN, OPEN311, STAFF), so an export read back in keeps them.
CHANNEL_OUT: dict[str, str] = {
    Channel.WEB: "ONLINE",
    Channel.MOBILE_APP: "MOBILE",
    Channel.PHONE: "PHONE",
    Channel.IMPORT: "UNKNOWN",
}
CHANNEL_IN: dict[str, str] = {
    **{written: channel for channel, written in CHANNEL_OUT.items()},
    **{c.upper(): c for c in Channel.values if c not in CHANNEL_OUT},
}

STATUS_OUT: dict[str, str] = {
    Status.NEW: "Open",
    Status.OPEN: "Open",
    Status.IN_PROGRESS: "In Progress",
    Status.CLOSED: "Closed",
}
# The dataset's states of work under way; any other state not "Closed" is open.
STATUS_IN_PROGRESS = ("in progress", "started", "assigned")

# A closing note with these words says nothing needed doing; every other closing completed it.
NO_ACTION_WORDS = (
    "no evidence",
    "did not observe",
    "could not find",
    "was not found",
    "unfounded",
    "not necessary",
    "no violation",
    "was gone",
)


def resolution_of(note: str) -> str:
    lowered = note.lower()
    if any(w in lowered for w in NO_ACTION_WORDS):
        return Resolution.NO_ACTION
    return Resolution.COMPLETED


def status_of(written: str, closed: bool) -> str:
    if closed:
        return Status.CLOSED
    return Status.IN_PROGRESS if written.strip().lower() in STATUS_IN_PROGRESS else Status.OPEN


# Times: the CSV export's "12/25/2013 11:59:08 PM" and the API's "2024-04-16T03:03:15.000", both
# the city's wall-clock time without an offset. PostgreSQL's import reads them with the same
# patterns (nycimport.TIME_SQL).
US_PATTERN = (
    r"(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])/([1-9]\d{3}) (0\d|1[0-2]):([0-5]\d):([0-5]\d) ([AP])M"
)
ISO_PATTERN = (
    r"([1-9]\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.\d{1,6})?"
)
US_TIME = re.compile(US_PATTERN)
ISO_TIME = re.compile(ISO_PATTERN)


def parse_time(text: str, zone: tzinfo) -> datetime | None:
    """The moment `text` names in the city's time zone, or None for empty or unreadable text.
    Read without strptime: a load reads hundreds of thousands of them."""
    text = (text or "").strip()
    if m := US_TIME.fullmatch(text):
        month, day, year, hour, minute, second = (int(g) for g in m.groups()[:6])
        hour = hour % 12 + (12 if m[7] == "P" else 0)
    elif m := ISO_TIME.fullmatch(text):
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
    else:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:  # the 31st of a shorter month
        return None


def format_time(moment: datetime | None, zone: tzinfo) -> str:
    """`moment` as the CSV export writes it: "05/01/2022 12:07:46 AM" in the city's time."""
    if moment is None:
        return ""
    t = moment.astimezone(zone)
    hour = t.hour % 12 or 12
    half = "PM" if t.hour >= 12 else "AM"
    return f"{t.month:02}/{t.day:02}/{t.year} {hour:02}:{t.minute:02}:{t.second:02} {half}"


class Mapping:
    """The complaint types of a city's NYC-shaped data onto its catalog's service codes: a JSON
    file of {"complaint_type": {type: code}, "descriptor": {"type|descriptor": code},
    "default": code} (the New York pack's is demo/cities/nyc/history/mapping.json)."""

    def __init__(self, path: Path) -> None:
        raw = json.loads(path.read_text())
        self.by_type: dict[str, str] = raw["complaint_type"]
        self.by_descriptor: dict[str, str] = raw.get("descriptor", {})
        self.default: str = raw["default"]

    def service_code(self, complaint_type: str, descriptor: str) -> str:
        return self.by_descriptor.get(
            f"{complaint_type}|{descriptor}", self.by_type.get(complaint_type, self.default)
        )
