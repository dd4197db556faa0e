"""The two CSV exports on PostgreSQL, formatted by the database: the same bytes as
`opendata.write_nyc` and `opendata.write_georeport`, many times faster.

The database writes the times (to_char in the city's zone), numbers, codes, names and the
empty columns, and streams the rows through `COPY ... TO STDOUT (FORMAT binary)`: no cursor
to hold, no Python object per value. Python keeps what only it may decide:

- `csv.writer` still writes the lines (its quoting is the file's: PostgreSQL's CSV would
  quote a carriage return or an empty string where Python does not);
- a row is handed back to Python (its `python` column) when a rule of Python's could change
  it: a status note or description with a digit, an '@' or any character beyond ASCII (all
  `publish.public_text` can act on: it leaves a text with neither a digit nor an '@' as it is,
  and `\\d` is any Unicode digit), a sensitive point to round, a department or borough name
  beyond ASCII (Python's `upper`), or a coordinate small enough for `repr` to write in
  exponent form. The rest is the database's alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from functools import lru_cache
from typing import Any

from django.db import connection

from city311.catalog.models import Department, ServiceType
from city311.cities import profile
from city311.reports import nyc, opendata
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.publish import public_text
from city311.servicerequests.vocabulary import Status

# What `public_text` can change: a digit, an '@', or a character beyond ASCII.
MAY_REDACT = r"[0-9@]|[^[:ascii:]]"
# Each request's values, read once (the formats below name them): `description` only where
# the type publishes it (None marks a sensitive type), points as PostgreSQL's shortest text.
BASE = {
    "requested_at": "sr.requested_at",
    "closed_at": "sr.closed_at",
    "updated_at": "coalesce(sr.closed_at, sr.updated_at)",
    "due_at": "sr.due_at",
    "public_id": "CASE WHEN sr.historical AND sr.external_id <> '' THEN sr.external_id"
    " ELSE sr.tracking_number END",
    "status": "sr.status",
    "channel": "sr.channel",
    "status_notes": "sr.status_notes",
    "description": "CASE WHEN st.publish_description THEN sr.description END",
    "address": "CASE WHEN st.publish_description THEN sr.address_string ELSE '' END",
    "zipcode": "sr.zipcode",
    "service_name": "st.service_name",
    "slug": "dep.slug",
    "department": "dep.name",
    "lat": "sr.lat",
    "long": "sr.long",
    "lat_text": "sr.lat::text",
    "long_text": "sr.long::text",
    "lat_repr": "CASE WHEN sr.lat = trunc(sr.lat) THEN sr.lat::text || '.0' ELSE sr.lat::text END",
    "long_repr": "CASE WHEN sr.long = trunc(sr.long) THEN sr.long::text || '.0'"
    " ELSE sr.long::text END",
    "borough_name": "CASE WHEN sr.areas->'borough'->>'code' IS NOT NULL"
    " THEN coalesce(sr.areas->'borough'->>'name', '') END",
    "district": "sr.areas->'community_district'->>'code'",
    "sensitive": "NOT st.publish_description",
}
# The raw values Python needs for a row it decides, after the format's own columns.
RAW = ("status_notes", "description", "lat_text", "long_text", "slug", "borough_name", "district")
# The values a file may carry as they were written: where PostgreSQL's CSV quoting and
# Python's differ (a carriage return, a lone "\\."), Python writes the row.
TEXTS = (
    "public_id", "status_notes", "description", "address", "zipcode", "service_name", "slug",
    "department", "borough_name", "district",
)  # fmt: skip


def _literal(text: str) -> str:
    """A string constant in the query (which psycopg reads for %s parameters)."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


def _case(column: str, mapping: dict[str, str], default: str) -> str:
    whens = " ".join(f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in mapping.items())
    return f"CASE {column} {whens} ELSE {default} END"


def _nyc_time(column: str, zone: str) -> str:
    return f"to_char({column} AT TIME ZONE {_literal(zone)}, 'MM/DD/YYYY HH12:MI:SS AM')"


def _w3c(column: str, zone: str) -> str:
    """`isoformat(timespec="seconds")` in the city's zone: 2026-11-02T09:15:00-05:00."""
    local = f"({column} AT TIME ZONE {_literal(zone)})"
    minutes = f"(extract(epoch FROM {local} - ({column} AT TIME ZONE 'UTC'))::int / 60)"
    offset = (
        f"CASE WHEN {minutes} < 0 THEN '-' ELSE '+' END"
        f" || lpad((abs({minutes}) / 60)::text, 2, '0')"
        f" || ':' || lpad(mod(abs({minutes}), 60)::text, 2, '0')"
    )
    return f"to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || {offset}"


def _columns(code: str, zone: str) -> list[str]:
    lat, long = "lat_repr", "long_repr"  # `repr`: PostgreSQL's shortest text, and '.0'
    if code == "georeport":
        return [
            "public_id",
            _w3c("requested_at", zone),
            _w3c("updated_at", zone),
            _w3c("closed_at", zone),
            f"CASE WHEN status = {_literal(Status.CLOSED)} THEN 'closed' ELSE 'open' END",
            "status_notes",
            _case("channel", opendata._source_names(), "channel"),
            "service_name",
            "NULL",
            "description",
            "department",
            "address",
            lat,
            long,
        ]
    borough = f"coalesce(upper(borough_name), {_literal(nyc.UNSPECIFIED)})"
    board = (
        "CASE WHEN district IS NULL OR borough_name IS NULL"
        f" OR upper(borough_name) = {_literal(nyc.UNSPECIFIED)} THEN '0 Unspecified'"
        " ELSE right(district, 2) || ' ' || upper(borough_name) END"
    )
    empty = "NULL"
    return [
        "public_id",
        _nyc_time("requested_at", zone),
        _nyc_time("closed_at", zone),
        "upper(coalesce(slug, ''))",
        "department",
        "service_name",
        empty, empty,
        "zipcode",
        "address",
        empty, empty, empty, empty, empty,
        "CASE WHEN address <> '' THEN 'ADDRESS' END",
        empty, empty, empty,
        _case("status", nyc.STATUS_OUT, "'Open'"),
        _nyc_time("due_at", zone),
        "status_notes",
        _nyc_time("updated_at", zone),
        board,
        empty,
        borough,
        empty, empty,
        _case("channel", nyc.CHANNEL_OUT, "upper(channel)"),
        empty,
        borough,
        empty, empty, empty, empty, empty, empty, empty,
        lat,
        long,
        f"CASE WHEN lat IS NOT NULL THEN '(' || {lat} || ', ' || coalesce({long}, '') || ')' END",
    ]  # fmt: skip


def _python_decides() -> str:
    """The rows a rule of Python's could change (see the module's docstring)."""
    unlike_repr = "(abs({0}) < 1e-4 AND {0} <> 0) OR abs({0}) >= 1e15"
    texts = ", ".join(TEXTS)
    return " OR ".join(
        (
            f"status_notes ~ '{MAY_REDACT}'",
            f"description ~ '{MAY_REDACT}'",
            "(sensitive AND lat IS NOT NULL AND long IS NOT NULL)",
            "slug ~ '[^[:ascii:]]'",
            "borough_name ~ '[^[:ascii:]]'",
            unlike_repr.format("lat"),
            unlike_repr.format("long"),
            f"strpos(concat({texts}), E'\\r') > 0",
            f"E'\\\\.' IN ({texts})",
        )
    )


# Each analyst column (opendata.ANALYST) as the database reads it: the Parquet and GeoJSON
# exports' columns (GeoJSON writes the times in the city's zone, lat and long apart).
ANALYST_COLUMNS = {
    "service_request_id": "CASE WHEN sr.historical AND sr.external_id <> '' THEN sr.external_id"
    " ELSE sr.tracking_number END",
    "service_code": "st.service_code",
    "service_name": "st.service_name",
    "group": 'st."group"',
    "agency": "coalesce(dep.slug, '')",
    "agency_name": "coalesce(dep.name, '')",
    "status": "sr.status",
    "resolution": "sr.resolution",
    "channel": "sr.channel",
    "requested_at": "sr.requested_at",
    "updated_at": "coalesce(sr.closed_at, sr.updated_at)",
    "closed_at": "sr.closed_at",
    "due_at": "sr.due_at",
    "status_notes": "sr.status_notes",
    "description": "CASE WHEN st.publish_description THEN sr.description END",
    "address": "CASE WHEN st.publish_description THEN sr.address_string ELSE '' END",
    "zipcode": "sr.zipcode",
    "lat": "sr.lat",
    "long": "sr.long",
    "sensitive": "NOT st.publish_description",
}


# The requests with their type and department, as every export reads them.
def requests_joined() -> str:
    return (
        f" FROM {ServiceRequest._meta.db_table} sr"
        f" JOIN {ServiceType._meta.db_table} st ON st.id = sr.service_type_id"
        f" LEFT JOIN {Department._meta.db_table} dep ON dep.id = sr.department_id"
    )


def period(
    since: date | None, until: date | None, ids: list[int] | None = None
) -> tuple[str, list[Any]]:
    """The WHERE of an export's period (the days `opendata.bounds` gives), and its parameters;
    with `ids`, of those requests alone (the pre-rendered lines, reports.openlines)."""
    where: list[str] = []
    params: list[Any] = []
    if ids is not None:
        where.append("sr.id = ANY(%s)")
        params.append(ids)
    start, end = opendata.bounds(since, until)
    if start is not None:
        where.append("sr.requested_at >= %s")
        params.append(start)
    if end is not None:
        where.append("sr.requested_at < %s")
        params.append(end)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params


def area_columns(kind: str) -> tuple[str, str]:
    """A kind of area's name and code columns, as `opendata.records` gives them: the name ''
    when the request has the area but no name, both NULL when it has none."""
    code, name = (f"sr.areas->{_literal(kind)}->>{_literal(k)}" for k in ("code", "name"))
    return f"CASE WHEN {code} IS NOT NULL THEN coalesce({name}, '') END", code


def query(
    code: str, since: date | None, until: date | None, ids: list[int] | None = None
) -> tuple[str, list[Any]]:
    """The SELECT of the format's rows, oldest first: whether Python decides the row, the
    request's id, the format's columns, then `RAW`. Each request's values are read once, in a
    subquery kept apart (OFFSET 0) so that its expressions are not copied into every column
    using them."""
    zone = profile.zone().key
    values = dict(BASE)
    kinds = opendata.area_kinds()  # as `opendata.records`, the kinds of area the city loaded
    for name, kind in (("borough_name", "borough"), ("district", "community_district")):
        if kind not in kinds:
            values[name] = "NULL::text"
    where, params = period(since, until, ids)
    base = (
        f"SELECT sr.id, {', '.join(f'{sql} AS {name}' for name, sql in values.items())}"
        f"{requests_joined()}{where}"
        " ORDER BY sr.requested_at, sr.id OFFSET 0"
    )
    decided = f"SELECT r.*, ({_python_decides()}) AS python FROM ({base}) r OFFSET 0"
    selected = [
        "CASE WHEN python THEN 't' ELSE 'f' END",
        "id",
        *(f"nullif({column}, '')" for column in _columns(code, zone)),
        # 'v' before a value tells it from NULL in the CSV that carries it.
        *(f"CASE WHEN python THEN coalesce('v' || {name}, '') END" for name in RAW),
    ]
    sql = f"SELECT {', '.join(selected)} FROM ({decided}) d ORDER BY requested_at, id"
    return sql, params


def _decide(code: str, row: list[str], width: int, redacted: Any) -> list[Any]:
    """A row's columns with Python's rules applied (as `opendata.records` applies them)."""
    out: list[Any] = list(row[1 : width + 1])
    raw = [value[1:] if value else None for value in row[width + 1 :]]
    notes, description, lat_text, long_text, slug, borough_name, district = raw
    lat = None if lat_text is None else float(lat_text)
    long = None if long_text is None else float(long_text)
    sensitive = description is None  # the description is read only where published
    if code == "georeport":
        out[5] = redacted(notes) if notes else ""
        out[9] = None if sensitive else (redacted(description) if description else "")
    if sensitive and lat is not None and long is not None:
        lat, long = round(lat, opendata.ROUNDED_DIGITS), round(long, opendata.ROUNDED_DIGITS)
    lat_out, long_out = opendata._point_text(lat), opendata._point_text(long)
    if code == "georeport":
        out[12], out[13] = lat_out, long_out
        return out
    out[3] = (slug or "").upper()
    out[21] = redacted(notes) if notes else ""
    borough = nyc.UNSPECIFIED if borough_name is None else borough_name.upper()
    board = "0 Unspecified"
    if district is not None and borough != nyc.UNSPECIFIED:
        board = f"{district[-2:]} {borough}"
    out[23], out[25], out[30] = board, borough, borough
    out[38], out[39] = lat_out, long_out
    out[40] = f"({lat_out}, {long_out})" if lat is not None else ""
    return out


def header(code: str) -> bytes:
    """The file's first line."""
    names = nyc.COLUMNS if code == "nyc" else [name for name, _meaning in opendata.GEOREPORT]
    sink = opendata._Lines()
    csv.writer(sink, lineterminator="\n").writerow(names)
    return sink.take()


def lines(
    code: str, since: date | None, until: date | None, ids: list[int] | None = None
) -> Iterator[tuple[int, bytes]]:
    """Each request's line of format `code` ("nyc" or "georeport"), oldest first, with the
    request's id: of the range, or of the requests `ids`.

    PostgreSQL sends each row of a COPY as a message of its own: a row it decided ("f,") is
    passed on without its first two columns and the empty `RAW` ones; a row for Python ("t,")
    is read, decided and written by `csv.writer`."""
    width = len(nyc.COLUMNS if code == "nyc" else opendata.GEOREPORT)
    sql, params = query(code, since, until, ids)
    redacted = lru_cache(maxsize=8192)(public_text)
    sink = opendata._Lines()
    writer = csv.writer(sink, lineterminator="\n")
    tail = len(RAW) + 1  # the empty RAW columns and the line's end
    connection.ensure_connection()
    copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT csv)"
    with connection.connection.cursor() as cursor, cursor.copy(copy_sql, params) as copy:
        for data in copy:
            row = bytes(data)
            comma = row.index(b",", 2)
            pk = int(row[2:comma])
            if row[0] == ord("f"):
                yield pk, row[comma + 1 : -tail] + b"\n"
            else:
                (values,) = csv.reader(io.StringIO(row.decode(), newline=""))
                del values[1]
                writer.writerow(_decide(code, values, width, redacted))
                yield pk, sink.take()


def export(code: str, since: date | None, until: date | None) -> Iterator[bytes]:
    """The file of format `code` ("nyc" or "georeport") for the range, as bytes, formatted
    at the download (the path the pre-rendered lines of reports.openlines replace)."""
    parts = [header(code)]
    for _pk, line in lines(code, since, until):
        parts.append(line)
        if len(parts) >= 1000:
            yield b"".join(parts)
            parts = []
    yield b"".join(parts)
