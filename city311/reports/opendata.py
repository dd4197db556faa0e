"""Open data: the city's requests as files anyone may download, streamed as they are read.

Four formats (`FORMATS`): New York City's 41-column CSV (the columns, names and formats of its
"311 Service Requests from 2010 to Present"), the Open311 GeoReport Bulk CSV, GeoJSON, and
Parquet for analysts. Each reads the requests received in a date range (today included, up to
the moment of the download) through one query iterated in chunks (`READ_CHUNK`; a server-side
cursor on PostgreSQL), so memory stays flat whatever the size.

Public by design, and the same rule as Open311's (servicerequests.publish):
- nothing is read from the reporter's Contact, the answers to a type's questions, internal
  notes or assignees: the query names every column it reads, and none of them is personal;
- descriptions are published only for types whose `publish_description` is on, with phone
  numbers and e-mail addresses removed; status notes likewise redacted;
- a type whose descriptions the city withholds is sensitive (the catalog's mark): its points
  are rounded to `ROUNDED_DIGITS` decimals (about 100 m) and its street address left out.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models.fields.json import KT
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from city311.cities import profile
from city311.geo.models import Boundary, BoundaryKind
from city311.reports import nyc
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.publish import public_text
from city311.servicerequests.vocabulary import Channel, Status

READ_CHUNK = 5000
ROUNDED_DIGITS = 3
# Rows a Parquet row group holds: large enough for good compression, small enough to stay
# well under the memory goal.
ROW_GROUP = 16384
# The columns read, in this order (Row's fields); areas are added per kind the city has.
READ = (
    "tracking_number",
    "external_id",
    "historical",
    "requested_at",
    "updated_at",
    "closed_at",
    "due_at",
    "status",
    "resolution",
    "status_notes",
    "description",
    "service_type__service_code",
    "service_type__service_name",
    "service_type__group",
    "service_type__publish_description",
    "department__slug",
    "department__name",
    "address_string",
    "zipcode",
    "lat",
    "long",
    "channel",
)


class BadRange(ValueError):
    """A date range the export cannot read; the message says what to fix."""


@dataclass
class Record:
    """One request as the open data publishes it."""

    public_id: str
    requested_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    due_at: datetime | None
    status: str
    resolution: str
    status_notes: str
    description: str | None
    service_code: str
    service_name: str
    group: str
    agency: str
    agency_name: str
    address: str
    zipcode: str
    lat: float | None
    long: float | None
    channel: str
    sensitive: bool
    areas: dict[str, tuple[str, str]]  # kind -> (code, name)


def area_kinds() -> list[str]:
    """The kinds of area the city loaded, in a fixed order (the columns they make)."""
    kinds = set(Boundary.objects.values_list("kind", flat=True)) - {BoundaryKind.CITY_LIMITS}
    return sorted(kinds)


def bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """The first moment of `since` and the first moment after `until` in the city's time zone
    (None for an open end)."""
    zone = profile.zone()
    start = None if since is None else datetime.combine(since, time(), zone)
    end = None if until is None else datetime.combine(until + timedelta(days=1), time(), zone)
    return start, end


def requests_between(since: date | None, until: date | None) -> Any:
    """The requests received from `since` to `until` (days in the city's time zone, both
    included; open ends for None), oldest first."""
    start, end = bounds(since, until)
    found = ServiceRequest.objects.all()
    if start is not None:
        found = found.filter(requested_at__gte=start)
    if end is not None:
        found = found.filter(requested_at__lt=end)
    return found.order_by("requested_at", "pk")


def check_range(since: date | None, until: date | None) -> None:
    if since is not None and until is not None and since > until:
        raise BadRange(_("The start date is after the end date: swap them."))


def records(since: date | None = None, until: date | None = None) -> Iterator[Record]:
    """Every request received in the range, as published, read a chunk at a time."""
    check_range(since, until)
    kinds = area_kinds()
    annotations = {}
    for i, kind in enumerate(kinds):
        annotations[f"area{i}_code"] = KT(f"areas__{kind}__code")
        annotations[f"area{i}_name"] = KT(f"areas__{kind}__name")
    rows = (
        requests_between(since, until)
        .annotate(**annotations)
        .values_list(*READ, *annotations)
        .iterator(chunk_size=READ_CHUNK)
    )
    redacted = lru_cache(maxsize=8192)(public_text)
    first_area = len(READ)
    for row in rows:
        (number, external, historical, requested, updated, closed, due, status, resolution,
         notes, description, code, name, group, published, slug, department, address, zipcode,
         lat, long, channel) = row[:first_area]  # fmt: skip
        sensitive = not published
        if sensitive and lat is not None and long is not None:
            lat, long = round(lat, ROUNDED_DIGITS), round(long, ROUNDED_DIGITS)
        areas = {}
        for i, kind in enumerate(kinds):
            area_code = row[first_area + 2 * i]
            if area_code is not None:
                areas[kind] = (area_code, row[first_area + 2 * i + 1] or "")
        yield Record(
            public_id=external if historical and external else number,
            requested_at=requested,
            updated_at=closed or updated,
            closed_at=closed,
            due_at=due,
            status=status,
            resolution=resolution,
            status_notes=redacted(notes) if notes else "",
            description=None if sensitive else (redacted(description) if description else ""),
            service_code=code,
            service_name=name,
            group=group,
            agency=slug or "",
            agency_name=department or "",
            address="" if sensitive else address,
            zipcode=zipcode,
            lat=lat,
            long=long,
            channel=channel,
            sensitive=sensitive,
            areas=areas,
        )


# The formats


@dataclass(frozen=True)
class Column:
    name: str
    meaning: Promise | str


@dataclass(frozen=True)
class Format:
    code: str
    title: Promise
    summary: Promise
    extension: str
    content_type: str
    columns: Callable[[], list[Column]]
    write: Callable[[Iterator[Record]], Iterator[bytes]]


class _Lines:
    """A file-like sink for csv.writer that hands back what was written since last asked."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def write(self, text: str) -> int:
        return self.buffer.write(text)

    def take(self) -> bytes:
        out = self.buffer.getvalue().encode()
        self.buffer.seek(0)
        self.buffer.truncate()
        return out


def _csv(header: list[str], rows: Iterator[list[Any]]) -> Iterator[bytes]:
    sink = _Lines()
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % 1000 == 0:
            yield sink.take()
    yield sink.take()


# New York City's 41 columns


def _nyc_borough(r: Record) -> str:
    found = r.areas.get("borough")
    return found[1].upper() if found else nyc.UNSPECIFIED


def _nyc_board(r: Record, borough: str) -> str:
    """NYC writes a community district "12 MANHATTAN" (code 112 in the city's boundaries)."""
    found = r.areas.get("community_district")
    if found is None or borough == nyc.UNSPECIFIED:
        return "0 Unspecified"
    return f"{found[0][-2:]} {borough}"


def _point_text(value: float | None) -> str:
    return "" if value is None else repr(value)


def nyc_rows(found: Iterator[Record]) -> Iterator[list[Any]]:
    zone = profile.zone()
    when = nyc.format_time
    for r in found:
        borough = _nyc_borough(r)
        lat, long = _point_text(r.lat), _point_text(r.long)
        yield [
            r.public_id,
            when(r.requested_at, zone),
            when(r.closed_at, zone),
            r.agency.upper(),
            r.agency_name,
            r.service_name,
            "",  # Descriptor: city311's types have no sub-type
            "",
            r.zipcode,
            r.address,
            "", "", "", "", "",  # street name, cross and intersection streets: not kept apart
            "ADDRESS" if r.address else "",
            "", "", "",  # city, landmark, facility type
            nyc.STATUS_OUT.get(r.status, "Open"),
            when(r.due_at, zone),
            r.status_notes,
            when(r.updated_at, zone),
            _nyc_board(r, borough),
            "",  # BBL
            borough,
            "", "",  # state plane coordinates
            nyc.CHANNEL_OUT.get(r.channel, r.channel.upper()),
            "",
            borough,
            "", "", "", "", "", "", "",  # vehicle, taxi, bridge and highway columns
            lat,
            long,
            f"({lat}, {long})" if r.lat is not None else "",
        ]  # fmt: skip


def write_nyc(found: Iterator[Record]) -> Iterator[bytes]:
    return _csv(nyc.COLUMNS, nyc_rows(found))


NYC_MEANINGS: dict[str, Promise] = {
    "Unique Key": _("The request's number: its tracking number, or the number the earlier "
                    "system gave a request imported from it."),
    "Created Date": _("When the request was received, in the city's time "
                      "(MM/DD/YYYY hh:mm:ss AM)."),
    "Closed Date": _("When it was closed; empty while open."),
    "Agency": _("The short name of the department responsible."),
    "Agency Name": _("The department responsible."),
    "Complaint Type": _("The type of request (the service's name)."),
    "Due Date": _("When the city promised to close it (its service level target)."),
    "Status": _("Open, In Progress or Closed."),
    "Resolution Description": _("The latest public word on the request, with phone numbers "
                                "and e-mail addresses removed."),
    "Resolution Action Updated Date": _("When it was closed, or last changed while open."),
    "Incident Zip": _("The ZIP code of the place."),
    "Incident Address": _("The address of the problem; empty for sensitive types."),
    "Address Type": _("ADDRESS when there is an address."),
    "Community Board": _("The community district, as NYC writes it (\"12 MANHATTAN\")."),
    "Borough": _("The borough the point is in, or Unspecified."),
    "Park Borough": _("The borough again, as NYC's dataset repeats it."),
    "Open Data Channel Type": _("How the request came in: PHONE, ONLINE, MOBILE, UNKNOWN "
                                "(imported), or city311's other channels in capitals (EMAIL, "
                                "WALK_IN, OPEN311, STAFF)."),
    "Latitude": _("Latitude (WGS84); rounded to 3 decimals (about 100 m) for sensitive types."),
    "Longitude": _("Longitude (WGS84); rounded like the latitude."),
    "Location": _("(Latitude, Longitude) together."),
}  # fmt: skip
NOT_KEPT = _("Not kept by city311: always empty.")


def nyc_columns() -> list[Column]:
    return [Column(name, NYC_MEANINGS.get(name, NOT_KEPT)) for name in nyc.COLUMNS]


# Open311 GeoReport Bulk


GEOREPORT = [
    ("service_request_id", _("The request's number (as the NYC file's Unique Key).")),
    ("requested_datetime", _("When it was received (W3C date-time with the offset).")),
    ("updated_datetime", _("When it was closed, or last changed while open.")),
    ("closed_date", _("When it was closed; empty while open.")),
    ("status_description", _("open or closed.")),
    ("status_notes", _("The latest public word, with phone numbers and e-mail addresses "
                       "removed.")),
    ("source", _("How it came in (Phone, Web portal, Mobile app...).")),
    ("service_name", _("The type of request.")),
    ("service_subtype", _("Empty: city311's types have no sub-type.")),
    ("description", _("What the resident wrote, with phone numbers and e-mail addresses "
                      "removed; empty for types whose descriptions the city does not "
                      "publish.")),
    ("agency_responsible", _("The department responsible.")),
    ("address", _("The address of the problem; empty for sensitive types.")),
    ("lat", _("Latitude (WGS84); rounded to 3 decimals for sensitive types.")),
    ("long", _("Longitude (WGS84); rounded likewise.")),
]  # fmt: skip


def _w3c(moment: datetime | None, zone: Any) -> str:
    return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""


def _source_names() -> dict[str, str]:
    with override("en"):
        return {c.value: str(c.label) for c in Channel}


def georeport_rows(found: Iterator[Record]) -> Iterator[list[Any]]:
    zone = profile.zone()
    sources = _source_names()
    for r in found:
        yield [
            r.public_id,
            _w3c(r.requested_at, zone),
            _w3c(r.updated_at, zone),
            _w3c(r.closed_at, zone),
            "closed" if r.status == Status.CLOSED else "open",
            r.status_notes,
            sources.get(r.channel, r.channel),
            r.service_name,
            "",
            r.description or "",
            r.agency_name,
            r.address,
            _point_text(r.lat),
            _point_text(r.long),
        ]


def write_georeport(found: Iterator[Record]) -> Iterator[bytes]:
    return _csv([name for name, _meaning in GEOREPORT], georeport_rows(found))


def georeport_columns() -> list[Column]:
    return [Column(name, meaning) for name, meaning in GEOREPORT]


# GeoJSON and Parquet: the same properties, typed


ANALYST = [
    ("service_request_id", _("The request's number (as the NYC file's Unique Key).")),
    ("service_code", _("The type's code in the city's catalog (Open311 service_code).")),
    ("service_name", _("The type of request.")),
    ("group", _("The type's group in the catalog.")),
    ("agency", _("The short name of the department responsible.")),
    ("agency_name", _("The department responsible.")),
    ("status", _("new, open, in_progress or closed.")),
    ("resolution", _("How a closed request was closed: completed, duplicate, no_action, "
                     "referred or cancelled.")),
    ("channel", _("How it came in: phone, web, mobile_app, email, walk_in, open311, staff or "
                  "import.")),
    ("requested_at", _("When it was received (UTC in Parquet, with the city's offset in "
                       "GeoJSON).")),
    ("updated_at", _("When it was closed, or last changed while open.")),
    ("closed_at", _("When it was closed; empty while open.")),
    ("due_at", _("When the city promised to close it.")),
    ("status_notes", _("The latest public word, with phone numbers and e-mail addresses "
                       "removed.")),
    ("description", _("What the resident wrote, redacted; empty (null) for types whose "
                      "descriptions the city does not publish.")),
    ("address", _("The address of the problem; empty for sensitive types.")),
    ("zipcode", _("The ZIP code.")),
    ("lat", _("Latitude (WGS84); rounded to 3 decimals for sensitive types.")),
    ("long", _("Longitude (WGS84); rounded likewise.")),
    ("sensitive", _("True for types whose point is rounded and address left out.")),
]  # fmt: skip
AREA_MEANING = _("The name of the %(kind)s the point is in (%(kind)s_code: its code).")
TIMES = ("requested_at", "updated_at", "closed_at", "due_at")


def analyst_columns() -> list[Column]:
    columns = [Column(name, meaning) for name, meaning in ANALYST]
    for kind in area_kinds():
        meaning = str(AREA_MEANING) % {"kind": kind}
        columns += [Column(kind, meaning), Column(f"{kind}_code", meaning)]
    return columns


def _properties(r: Record, kinds: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "service_request_id": r.public_id,
        "service_code": r.service_code,
        "service_name": r.service_name,
        "group": r.group,
        "agency": r.agency,
        "agency_name": r.agency_name,
        "status": r.status,
        "resolution": r.resolution,
        "channel": r.channel,
        "requested_at": r.requested_at,
        "updated_at": r.updated_at,
        "closed_at": r.closed_at,
        "due_at": r.due_at,
        "status_notes": r.status_notes,
        "description": r.description,
        "address": r.address,
        "zipcode": r.zipcode,
        "lat": r.lat,
        "long": r.long,
        "sensitive": r.sensitive,
    }
    for kind in kinds:
        code, name = r.areas.get(kind, (None, None))
        out[kind], out[f"{kind}_code"] = name, code
    return out


def write_geojson(found: Iterator[Record]) -> Iterator[bytes]:
    zone = profile.zone()
    kinds = area_kinds()
    parts = ['{"type":"FeatureCollection","features":[']
    for n, r in enumerate(found):
        properties = _properties(r, kinds)
        for name in TIMES:
            properties[name] = _w3c(properties[name], zone) or None
        geometry = {"type": "Point", "coordinates": [r.long, r.lat]} if r.lat is not None else None
        feature = {"type": "Feature", "geometry": geometry, "properties": properties}
        parts.append(("," if n else "") + json.dumps(feature, ensure_ascii=False))
        if len(parts) >= 1000:
            yield "".join(parts).encode()
            parts = []
    parts.append("]}\n")
    yield "".join(parts).encode()


class _Spool:
    """A write-only file for pyarrow that keeps its position (the footer records offsets)
    and hands back the bytes written since last asked."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        data = bytes(data)
        self.chunks.append(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


def parquet_schema(kinds: list[str]) -> Any:
    import pyarrow as pa

    types = {name: pa.string() for name, _meaning in ANALYST}
    types.update({name: pa.timestamp("us", tz="UTC") for name in TIMES})
    types.update({"lat": pa.float64(), "long": pa.float64(), "sensitive": pa.bool_()})
    fields = [pa.field(name, types[name]) for name, _meaning in ANALYST]
    for kind in kinds:
        fields += [pa.field(kind, pa.string()), pa.field(f"{kind}_code", pa.string())]
    return pa.schema(fields)


def write_parquet(found: Iterator[Record]) -> Iterator[bytes]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = area_kinds()
    schema = parquet_schema(kinds)
    names = schema.names
    spool = _Spool()
    writer = pq.ParquetWriter(pa.PythonFile(spool, mode="w"), schema, compression="zstd")
    columns: dict[str, list[Any]] = {name: [] for name in names}
    count = 0

    def flush() -> None:
        arrays = [pa.array(columns[name], type=schema.field(name).type) for name in names]
        writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
        for values in columns.values():
            values.clear()

    for r in found:
        for name, value in _properties(r, kinds).items():
            columns[name].append(value)
        count += 1
        if count % ROW_GROUP == 0:
            flush()
            yield spool.take()
    if count % ROW_GROUP or count == 0:
        flush()
    writer.close()
    yield spool.take()


FORMATS: dict[str, Format] = {
    f.code: f
    for f in (
        Format(
            "nyc",
            _("New York City 311 CSV"),
            _("The 41 columns of New York City's \"311 Service Requests from 2010 to Present\", "
              "with its names and formats: tools written for NYC's data read it as it is."),
            "csv",
            "text/csv; charset=utf-8",
            nyc_columns,
            write_nyc,
        ),
        Format(
            "georeport",
            _("Open311 GeoReport Bulk CSV"),
            _("The Open311 GeoReport Bulk data specification's 14 columns."),
            "csv",
            "text/csv; charset=utf-8",
            georeport_columns,
            write_georeport,
        ),
        Format(
            "geojson",
            _("GeoJSON"),
            _("Every request as a point feature (no geometry when it has no place), for maps."),
            "geojson",
            "application/geo+json",
            analyst_columns,
            write_geojson,
        ),
        Format(
            "parquet",
            _("Parquet"),
            _("Typed columns for analysts (pandas, DuckDB, R, Spark), times in UTC."),
            "parquet",
            "application/vnd.apache.parquet",
            analyst_columns,
            write_parquet,
        ),
    )
}  # fmt: skip


def export(
    code: str, since: date | None = None, until: date | None = None, *, ready: bool = True
) -> Iterator[bytes]:
    """The file of format `code` for the range, as a stream of bytes. On PostgreSQL, read from
    the lines kept ready (reports.openlines) when they are current, else (or with
    `ready=False`, the benchmark's baseline) formatted by the database as it is read."""
    check_range(since, until)
    if ready:
        from city311.reports import openlines

        if openlines.ready():
            return openlines.export(code, since, until)
    if code in ("nyc", "georeport") and connection.vendor == "postgresql":
        from city311.reports import sqlcsv

        return sqlcsv.export(code, since, until)
    if code == "parquet" and connection.vendor == "postgresql":
        from city311.reports import sqlparquet

        return sqlparquet.export(since, until)
    if code == "geojson" and connection.vendor == "postgresql":
        from city311.reports import sqlgeojson

        return sqlgeojson.export(since, until)
    return FORMATS[code].write(records(since, until))


def file_name(code: str, since: date | None, until: date | None) -> str:
    today = datetime.now(UTC).astimezone(profile.zone()).date()
    span = f"{since or 'start'}_{until or today}"
    return f"311-requests-{span}.{FORMATS[code].extension}"
