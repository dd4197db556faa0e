"""`city311 import_nyc`: New York City-shaped 311 files loaded set-wise.

1. Stage. The file is read once (gzip or plain, any of the layouts `nyc.canonical_header`
   knows) into a staging table of text columns: on PostgreSQL through COPY, on SQLite by
   batched inserts. Nothing is typed there (PostgreSQL 15 cannot skip a bad row inside COPY),
   but what only the city's own engines can answer is added as the rows pass, a batch at a
   time: the areas the point is in (one vectorised lookup per batch), the service type (the
   catalog's own names and codes, then the city's complaint-type mapping, `nyc.Mapping`), the
   department (the file's agency when it names one, else the city's routing rules), and a
   fresh tracking number. Each row keeps the number of the line it starts on.
2. Validate, set-based: one UPDATE per rule marks the rows it rejects with the reason (a date
   that is not a date, a latitude that is not a number, a key already imported...).
3. Insert, set-based: INSERT ... SELECT the valid rows, typed in SQL, in file order, then
   their history events (imported, and closed) the same way.
4. The report rollups catch up on the imported requests, and the event stream is woken.

Every rejected line is reported by its number and reason; the valid ones are loaded.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any

import numpy as np
import shapely
from django.db import connection, models, transaction

from city311.catalog.calendar import Calendar
from city311.catalog.models import Department, ServiceType, SlaUnit
from city311.cities import profile
from city311.geo.boundaries import AreaIndex, area_index
from city311.reports import nyc, rollup
from city311.servicerequests import stream
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.servicerequests.routing import Router
from city311.servicerequests.tracking import new_tracking_numbers
from city311.servicerequests.vocabulary import Event, Status

STAGING = "city311_nyc_staging"
BATCH = 10000
# The file's columns kept, then what the city's engines add while staging.
READ = [
    "unique_key",
    "created_date",
    "closed_date",
    "agency",
    "complaint_type",
    "descriptor",
    "status",
    "due_date",
    "resolution_description",
    "resolution_action_updated_date",
    "incident_zip",
    "incident_address",
    "intersection_street_1",
    "intersection_street_2",
    "latitude",
    "longitude",
    "open_data_channel_type",
]
ADDED = ["service_type_id", "department_id", "areas", "tracking_number"]
STAGED = ["line", "problem", *READ, *ADDED]
DEFAULT_MAPPING = (
    Path(__file__).resolve().parent.parent / "demo" / "cities" / "nyc" / "history" / "mapping.json"
)


class ImportFailed(ValueError):
    """The file cannot be read at all (no such file, an unknown layout); the message says why."""


@dataclass
class Result:
    imported: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    application: str = ""


# Reading the file


def _open(path: Path) -> IO[str]:
    try:
        raw = path.open("rb")
    except OSError as e:
        raise ImportFailed(f"Cannot read {path}: {e.strerror}.") from None
    magic = raw.read(2)
    raw.seek(0)
    binary: IO[bytes] = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw  # type: ignore[assignment]
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")


def read_lines(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, problem, the READ values) of every record of the file."""
    with _open(path) as f:
        reader = csv.reader(f)
        try:
            first = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ImportFailed(f"{path.name} is not a CSV file: {e}.") from None
        names = [nyc.field_name(h) for h in first]
        rows: Iterator[list[str]]
        if "unique_key" in names:
            header, rows = names, reader
        elif len(first) in nyc.HEADERLESS:
            header, rows = nyc.HEADERLESS[len(first)], _again(first, reader)
        else:
            raise ImportFailed(
                f"{path.name} has no header and {len(first)} columns: a file without a header "
                f"must have 41 (NYC's columns in order) or 5 (key, created, closed, type, "
                "borough)."
            )
        missing = [n for n in ("unique_key", "created_date") if n not in header]
        if missing:
            raise ImportFailed(f"{path.name} has no {' or '.join(missing)} column.")
        where = [header.index(n) if n in header else None for n in READ]
        width = len(header)
        previous = 1 if header is names else 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as e:
                yield previous + 1, f"not readable as CSV: {e}", [""] * len(READ)
                previous = reader.line_num
                continue
            start, previous = previous + 1, reader.line_num
            if not row:
                continue
            if len(row) != width:
                problem = f"{width} fields expected, {len(row)} found"
                yield start, problem, [""] * len(READ)
            elif "\x00" in "".join(row):
                yield start, "holds a NUL character", [""] * len(READ)
            else:
                yield start, "", [row[i].strip() if i is not None else "" for i in where]


def _again(first: list[str], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rest


# What the city's engines add


class Catalog:
    """The service type, department and areas of staged rows, each answer kept once found."""

    def __init__(self, mapping: nyc.Mapping) -> None:
        self.mapping = mapping
        self.types = {t.service_code: t for t in ServiceType.objects.select_related("department")}
        named = {t.service_name: t for t in self.types.values()}
        self.own = {**named, **self.types}
        self.departments = {d.slug.upper(): d.pk for d in Department.objects.all()}
        self.departments.update({d.name.upper(): d.pk for d in Department.objects.all()})
        self.router = Router()
        self.index: AreaIndex = area_index()
        self._types: dict[tuple[str, str], ServiceType | None] = {}
        self._routes: dict[tuple[int, tuple[int, ...]], int | None] = {}
        self._areas: dict[tuple[int, ...], str] = {}

    def service_type(self, complaint: str, descriptor: str) -> ServiceType | None:
        key = (complaint, descriptor)
        if key not in self._types:
            own = self.own.get(complaint)
            code = self.mapping.service_code(complaint, descriptor)
            self._types[key] = own or self.types.get(code)
        return self._types[key]

    def department(self, st: ServiceType, agency: str, areas: tuple[int, ...]) -> int | None:
        named = self.departments.get(agency.upper()) if agency else None
        if named is not None:
            return named
        key = (st.pk, areas)
        if key not in self._routes:
            route = self.router.route(st, {self.index.areas[i].pk for i in areas})
            self._routes[key] = route.department.pk if route.department else None
        return self._routes[key]

    def areas_json(self, areas: tuple[int, ...]) -> str:
        if areas not in self._areas:
            snapshot: dict[str, dict[str, str]] = {}
            for i in areas:
                a = self.index.areas[i]
                snapshot.setdefault(a.kind, {"code": a.code, "name": a.name})
            self._areas[areas] = json.dumps(snapshot)
        return self._areas[areas]

    def areas_at(
        self, lats: list[float | None], longs: list[float | None]
    ) -> list[tuple[int, ...]]:
        """The areas of each point of a batch, by index in the area index (one tree query)."""
        found: list[list[int]] = [[] for _ in lats]
        placed = [i for i, (a, b) in enumerate(zip(lats, longs, strict=True)) if a and b]
        if placed and self.index.areas:
            geometries, tree = self.index._prepared()
            # Each distinct point once: a city's requests come again and again from the same
            # addresses.
            xy = np.array([(longs[i], lats[i]) for i in placed])
            distinct, which = np.unique(xy, axis=0, return_inverse=True)
            points = shapely.points(distinct)
            # The tree by boxes, then the polygons, prepared, answer for their candidates
            # (the tree's own predicate would prepare the points instead and walk every
            # vertex of each polygon).
            at, hit = tree.query(points)
            inside = shapely.intersects(geometries[hit], points[at])
            areas_of: list[list[int]] = [[] for _ in range(len(distinct))]
            for p, h in zip(at[inside].tolist(), hit[inside].tolist(), strict=True):
                areas_of[p].append(h)
            for i, d in zip(placed, which.reshape(-1).tolist(), strict=True):
                found[i] = areas_of[d]
        return [tuple(sorted(f)) for f in found]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value != 0.0 else None  # NaN and 0: no point


def staged_batches(path: Path, catalog: Catalog) -> Iterator[list[list[Any]]]:
    """The staging rows of the file, a batch at a time through the city's engines. A batch is
    made whole before it is written: the engines may read the database, which cannot answer
    while a COPY is under way on the same connection."""
    lines = read_lines(path)
    complaint, descriptor = READ.index("complaint_type"), READ.index("descriptor")
    agency = READ.index("agency")
    lat_at, long_at = READ.index("latitude"), READ.index("longitude")
    while batch := list(islice(lines, BATCH)):
        lats = [_number(values[lat_at]) for _line, _problem, values in batch]
        longs = [_number(values[long_at]) for _line, _problem, values in batch]
        found = catalog.areas_at(lats, longs)
        numbers = new_tracking_numbers(len(batch))
        rows = []
        for (line, problem, values), areas, number in zip(batch, found, numbers, strict=True):
            st = catalog.service_type(values[complaint], values[descriptor])
            department = catalog.department(st, values[agency], areas) if st else None
            rows.append(
                [
                    line,
                    problem,
                    *values,
                    st.pk if st else None,
                    department,
                    catalog.areas_json(areas),
                    number,
                ]
            )
        yield rows


# The SQL that differs by database


def _postgres_time(column: str, zone: str) -> str:
    """A staged text as the moment it names in the city's time, NULL when it is not one: the
    patterns of nyc.parse_time, with the day checked against the month's length first (so a
    31st of June is NULL, not an error that would stop the statement)."""
    c = f"s.{column}"
    zone_sql = f"'{zone}'"

    def when(pattern: str, y: str, m: str, d: str, hour: str, minute: str, second: str) -> str:
        days = f"date_part('day', make_date({y}, {m}, 1) + interval '1 month - 1 day')"
        moment = f"make_timestamptz({y}, {m}, {d}, {hour}, {minute}, {second}, {zone_sql})"
        return f"WHEN {c} ~ '^{pattern}$' AND {d} <= {days} THEN {moment}"

    us = when(
        nyc.US_PATTERN,
        f"substr({c}, 7, 4)::int",
        f"substr({c}, 1, 2)::int",
        f"substr({c}, 4, 2)::int",
        f"(mod(substr({c}, 12, 2)::int, 12) + CASE substr({c}, 21, 1) WHEN 'P' THEN 12 ELSE 0 END)",
        f"substr({c}, 15, 2)::int",
        f"substr({c}, 18, 2)::int",
    )
    iso = when(
        nyc.ISO_PATTERN,
        f"substr({c}, 1, 4)::int",
        f"substr({c}, 6, 2)::int",
        f"substr({c}, 9, 2)::int",
        f"substr({c}, 12, 2)::int",
        f"substr({c}, 15, 2)::int",
        f"substr({c}, 18, 2)::int",
    )
    return f"(CASE {us} {iso} END)"


NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


class Dialect:
    """What PostgreSQL and SQLite write differently. On SQLite, times and numbers are read by
    Python functions registered on the connection (nyc.parse_time, the same patterns)."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.zone = str(profile.zone())
        if not self.postgres:
            self._register_sqlite()

    def _register_sqlite(self) -> None:
        zone = profile.zone()
        calendar = Calendar()

        def moment(text: str | None) -> str | None:
            found = nyc.parse_time(text or "", zone)
            return _sqlite_utc(found) if found else None

        def number(text: str | None) -> float | None:
            try:
                value = float(text or "")
            except ValueError:
                return None
            return value if value == value and abs(value) != float("inf") else None

        def due(created: str, amount: int | None, unit: str) -> str | None:
            start = datetime.fromisoformat(created + "+00:00")
            found = calendar.due_at(start, amount, unit)
            return _sqlite_utc(found) if found else None

        raw = connection.connection
        raw.create_function("nyc_time", 1, moment, deterministic=True)
        raw.create_function("nyc_number", 1, number, deterministic=True)
        raw.create_function("nyc_due", 3, due, deterministic=True)

    def time(self, column: str) -> str:
        if self.postgres:
            return _postgres_time(column, self.zone)
        return f"nyc_time(s.{column})"

    def number(self, column: str) -> str:
        c = f"s.{column}"
        if self.postgres:
            return f"(CASE WHEN {c} ~ '{NUMBER_PATTERN}' THEN {c}::float8 END)"
        return f"nyc_number({c})"

    def due_by_sla(self, created: str) -> str:
        """The due date by the type's target; on PostgreSQL only calendar days (business
        hours are counted afterwards in Python, by the city's calendar)."""
        if self.postgres:
            return (
                f"CASE WHEN t.sla_unit = '{SlaUnit.CALENDAR_DAYS}' AND t.sla_amount IS NOT NULL "
                f"THEN (({created} AT TIME ZONE '{self.zone}') "
                f"+ make_interval(days => t.sla_amount)) AT TIME ZONE '{self.zone}' END"
            )
        return f"nyc_due({created}, t.sla_amount, t.sla_unit)"

    def quote(self, text: str) -> str:
        return f"quote_literal({text})" if self.postgres else f"quote({text})"

    @property
    def json_true(self) -> str:
        return "true" if self.postgres else "json('true')"

    def json(self, text: str) -> str:
        return f"({text})::jsonb" if self.postgres else text

    def json_object(self, *pairs: str) -> str:
        return f"{'jsonb_build_object' if self.postgres else 'json_object'}({', '.join(pairs)})"

    @property
    def true(self) -> str:
        return "true" if self.postgres else "1"


def _sqlite_utc(moment: datetime) -> str:
    # As Django's SQLite backend stores a moment: naive UTC.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


# Staging


def _create_staging() -> None:
    columns = ", ".join(f"{c} {'integer' if c in ('line',) else 'text'}" for c in STAGED)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGING} ({columns})")


def _stage(batches: Iterator[list[list[Any]]], progress: Callable[[int], None] | None) -> int:
    count = 0
    names = ", ".join(STAGED)
    with connection.cursor() as cursor:
        for batch in batches:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {STAGING} ({names}) FROM STDIN") as copy:
                    for row in batch:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(STAGED))
                cursor.executemany(f"INSERT INTO {STAGING} ({names}) VALUES ({marks})", batch)
            count += len(batch)
            if progress:
                progress(len(batch))
        for column in ("line", "unique_key", "tracking_number"):
            cursor.execute(f"CREATE INDEX {STAGING}_{column} ON {STAGING} ({column})")
        # A temporary table has no statistics until asked: without them PostgreSQL plans the
        # checks as if it held a few rows.
        cursor.execute(f"ANALYZE {STAGING}")
    return count


# Validating


def _validate(dialect: Dialect, application: str) -> None:
    d = dialect
    table = ServiceRequest._meta.db_table
    checks = [
        ("s.unique_key = ''", "'Unique Key is empty'"),
        ("length(s.unique_key) > 60", "'Unique Key is longer than 60 characters'"),
        (
            f"{d.time('created_date')} IS NULL",
            "'Created Date ' || QUOTE(s.created_date) || "
            "' is not a date and time such as 05/01/2022 12:00:03 AM'",
        ),
    ]
    for column, label in (
        ("closed_date", "Closed Date"),
        ("due_date", "Due Date"),
        ("resolution_action_updated_date", "Resolution Action Updated Date"),
    ):
        checks.append(
            (
                f"s.{column} <> '' AND {d.time(column)} IS NULL",
                f"'{label} ' || QUOTE(s.{column}) || ' is not a date and time'",
            )
        )
    for column, label, low, high in (
        ("latitude", "Latitude", -90, 90),
        ("longitude", "Longitude", -180, 180),
    ):
        value = d.number(column)
        checks.append(
            (
                f"s.{column} <> '' AND ({value} IS NULL OR {value} < {low} OR {value} > {high})",
                f"'{label} ' || QUOTE(s.{column}) || ' is not a number between {low} and {high}'",
            )
        )
    lat, long = d.number("latitude"), d.number("longitude")
    checks += [
        (
            f"(coalesce({lat}, 0) = 0) <> (coalesce({long}, 0) = 0)",
            "'give both Latitude and Longitude, or neither'",
        ),
        (
            f"{d.time('closed_date')} < {d.time('created_date')}",
            "'Closed Date is before Created Date'",
        ),
        ("s.service_type_id IS NULL", "'no service type in the catalog for Complaint Type ' || "
         "QUOTE(s.complaint_type)"),
        (
            f"s.unique_key IN (SELECT r.external_id FROM {table} r WHERE r.application = %s)",
            "'Unique Key ' || QUOTE(s.unique_key) || ' was imported already'",
        ),
        (
            # The second and later lines of a key: numbered in one sort, not compared in pairs.
            f"s.line IN (SELECT line FROM (SELECT line, row_number() OVER "
            f"(PARTITION BY unique_key ORDER BY line) AS nth FROM {STAGING} "
            "WHERE problem = '') numbered WHERE nth > 1)",
            "'Unique Key ' || QUOTE(s.unique_key) || ' is also on an earlier line'",
        ),
    ]  # fmt: skip
    with connection.cursor() as cursor:
        for condition, reason in checks:
            # The reason is set on the staging table's own row: its columns unqualified.
            reason = re.sub(r"\bs\.(\w+)", r"\1", reason)
            reason = reason.replace("QUOTE(", "quote_literal(" if d.postgres else "quote(")
            cursor.execute(
                f"UPDATE {STAGING} SET problem = {reason} "
                f"WHERE problem = '' AND line IN (SELECT s.line FROM {STAGING} s "
                f"WHERE s.problem = '' AND {condition})",
                [application] if "%s" in condition else None,
            )


def _unique_numbers() -> None:
    """Draw again the tracking numbers already taken, or drawn twice in the file."""
    table = ServiceRequest._meta.db_table
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT s.line FROM {STAGING} s JOIN {table} r "
                f"ON r.tracking_number = s.tracking_number "
                f"UNION SELECT line FROM (SELECT line, row_number() OVER "
                f"(PARTITION BY tracking_number ORDER BY line) AS nth FROM {STAGING}) "
                "numbered WHERE nth > 1"
            )
            lines = [line for (line,) in cursor.fetchall()]
            if not lines:
                return
            numbers = new_tracking_numbers(len(lines))
            cursor.executemany(
                f"UPDATE {STAGING} SET tracking_number = %s WHERE line = %s",
                list(zip(numbers, lines, strict=True)),
            )


# Inserting


def _insert_select(
    model: type[models.Model], given: dict[str, str], source: str, *, prefix: str = ""
) -> int:
    """[prefix] INSERT INTO the model's table SELECT `given` (column -> SQL, with no
    placeholder) `source`; every other column takes its field's default."""
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
    postgres = connection.vendor == "postgresql"
    expressions, defaults = [], []
    for f in fields:
        if f.column in given:
            expressions.append(given[f.column])
            continue
        default = f.get_default()
        if isinstance(f, models.JSONField):
            # A parameter is text to PostgreSQL: say it is JSON.
            expressions.append("CAST(%s AS jsonb)" if postgres else "%s")
            default = json.dumps(default)
        else:
            expressions.append("%s")
            default = f.get_db_prep_save(default, connection)
        defaults.append(default)
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    sql = (
        f"{prefix} INSERT INTO {quote(meta.db_table)} ({names}) "
        f"SELECT {', '.join(expressions)} {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, defaults)
        return cursor.rowcount


def _gin_indexes(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            [table, "% USING gin %"],
        )
        return [name for (name,) in cursor.fetchall()]


def _insert_requests(dialect: Dialect, application: str) -> int:
    d = dialect
    # Each staged text is typed once, in a materialised step, and read as often as needed.
    typed = (
        f"WITH typed AS MATERIALIZED (SELECT s.*, {d.time('created_date')} AS t_created, "
        f"{d.time('closed_date')} AS t_closed, {d.time('due_date')} AS t_due, "
        f"{d.time('resolution_action_updated_date')} AS t_updated, "
        f"{d.number('latitude')} AS t_lat, {d.number('longitude')} AS t_long "
        f"FROM {STAGING} s WHERE s.problem = '')"
    )
    closed = (
        "coalesce(s.t_closed, CASE WHEN lower(s.status) = 'closed' "
        "THEN coalesce(s.t_updated, s.t_created) END)"
    )
    words = " OR ".join(
        f"lower(s.resolution_description) LIKE '%%{w}%%'" for w in nyc.NO_ACTION_WORDS
    )
    in_progress = ", ".join(f"'{s}'" for s in nyc.STATUS_IN_PROGRESS)
    channels = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in nyc.CHANNEL_IN.items())
    given = {
        "tracking_number": "s.tracking_number",
        "service_type_id": "t.id",
        "status": (
            f"CASE WHEN {closed} IS NOT NULL THEN '{Status.CLOSED}' "
            f"WHEN lower(s.status) IN ({in_progress}) THEN '{Status.IN_PROGRESS}' "
            f"ELSE '{Status.OPEN}' END"
        ),
        "resolution": (
            f"CASE WHEN {closed} IS NULL THEN '' WHEN {words} THEN 'no_action' ELSE 'completed' END"
        ),
        "status_notes": "s.resolution_description",
        "description": (
            "CASE WHEN s.descriptor = '' THEN s.complaint_type "
            "ELSE s.complaint_type || ' - ' || s.descriptor END"
        ),
        "lat": "CASE WHEN s.t_lat = 0 THEN NULL ELSE s.t_lat END",
        "long": "CASE WHEN s.t_long = 0 THEN NULL ELSE s.t_long END",
        "address_string": (
            "CASE WHEN s.incident_address = '' AND s.intersection_street_1 <> '' "
            "THEN s.intersection_street_1 || ' and ' || s.intersection_street_2 "
            "ELSE s.incident_address END"
        ),
        "zipcode": "substr(s.incident_zip, 1, 10)",
        "areas": d.json("s.areas"),
        "channel": f"CASE upper(s.open_data_channel_type) {channels} ELSE 'import' END",
        "application": _literal(application),
        "external_id": "s.unique_key",
        "historical": d.true,
        "department_id": "CAST(s.department_id AS integer)",
        "urgent": "t.urgency = 'urgent'",
        "requested_at": "s.t_created",
        "updated_at": f"coalesce(s.t_updated, {closed}, s.t_created)",
        "closed_at": closed,
        "due_at": f"coalesce(s.t_due, {d.due_by_sla('s.t_created')})",
    }
    types = ServiceType._meta.db_table
    source = (
        f"FROM typed s JOIN {types} t ON t.id = CAST(s.service_type_id AS integer) ORDER BY s.line"
    )
    if not d.postgres:
        return _insert_select(ServiceRequest, given, source, prefix=typed)
    # The word-search and area indexes (GIN) take a bulk load's entries faster gathered in
    # their pending list and merged once, sorted, than merged each time 4 MB of them pile up.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL gin_pending_list_limit = '1GB'")
    inserted = _insert_select(ServiceRequest, given, source, prefix=typed)
    with connection.cursor() as cursor:
        for name in _gin_indexes(ServiceRequest._meta.db_table):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [name])
        cursor.execute("RESET gin_pending_list_limit")
    return inserted


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _insert_events(dialect: Dialect, application: str) -> None:
    d = dialect
    table = ServiceRequest._meta.db_table
    label = _literal(f"Imported from {application}"[:120])
    source = (
        f"FROM {table} r JOIN {STAGING} s ON s.tracking_number = r.tracking_number "
        "WHERE s.problem = ''"
    )
    common = {"request_id": "r.id", "actor_label": label, "public": d.true}
    _insert_select(
        RequestEvent,
        {
            **common,
            "kind": _literal(Event.IMPORTED),
            "at": "r.requested_at",
            "data": d.json_object("'external_id'", "r.external_id"),
        },
        source,
    )
    _insert_select(
        RequestEvent,
        {
            **common,
            "kind": _literal(Event.CLOSED),
            "at": "r.closed_at",
            "note": "r.status_notes",
            "data": d.json_object("'resolution'", "r.resolution", "'imported'", d.json_true),
        },
        source + " AND r.closed_at IS NOT NULL",
    )


def _business_hours_due(application: str, first_id: int) -> None:
    """Due dates counted in business hours (PostgreSQL's insert counts only calendar days)."""
    calendar = Calendar()
    found = (
        ServiceRequest.objects.filter(
            pk__gt=first_id,
            application=application,
            due_at__isnull=True,
            service_type__sla_unit=SlaUnit.BUSINESS_HOURS,
            service_type__sla_amount__isnull=False,
        )
        .values_list("pk", "requested_at", "service_type__sla_amount")
        .iterator(chunk_size=5000)
    )
    rows = [(calendar.add_business_hours(at, amount or 0), pk) for pk, at, amount in found]
    table = ServiceRequest._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET due_at = %s WHERE id = %s", rows)


def import_nyc(
    path: Path,
    *,
    mapping: Path = DEFAULT_MAPPING,
    progress: Callable[[int], None] | None = None,
    say: Callable[[str], None] | None = None,
    catch_up: bool = True,
) -> Result:
    """Load the NYC-shaped file at `path`; returns how many were imported and every rejected
    line with its reason. ImportFailed when the file cannot be read at all. `catch_up`: count
    the imported requests into the report rollups now (else `rebuild_reports` must, later)."""
    say = say or (lambda _text: None)
    application = f"import_nyc {path.name}"[:120]
    catalog = Catalog(nyc.Mapping(mapping))
    result = Result(application=application)
    with transaction.atomic():
        first_id = ServiceRequest.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        dialect = Dialect()
        _create_staging()
        staged = _stage(staged_batches(path, catalog), progress)
        say(f"Staged {staged:,} lines; checking them.")
        _validate(dialect, application)
        _unique_numbers()
        _insert_requests(dialect, application)
        with connection.cursor() as cursor:
            # Every valid line made one request (SQLite's rowcount says -1 after a WITH).
            cursor.execute(f"SELECT count(*) FROM {STAGING} WHERE problem = ''")
            result.imported = cursor.fetchone()[0]
        say(f"Inserted {result.imported:,} requests; writing their history.")
        _insert_events(dialect, application)
        if dialect.postgres:
            _business_hours_due(application, first_id)
            # A bulk load can double a table: plan the next reads (the heat map's GROUP BY,
            # the queue) on its new size, not on statistics of before (or none yet).
            with connection.cursor() as cursor:
                for model in (ServiceRequest, RequestEvent):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT line, problem FROM {STAGING} WHERE problem <> '' ORDER BY line")
            result.rejected = [(line, problem) for line, problem in cursor.fetchall()]
            cursor.execute(f"DROP TABLE {STAGING}")
        ids = (
            list(
                ServiceRequest.objects.filter(pk__gt=first_id, application=application)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if catch_up
            else []
        )
        if catch_up:
            say(f"Counting {len(ids):,} requests into the reports.")
            for start in range(0, len(ids), 5000):
                rollup.refresh(ids[start : start + 5000])
        # The other consumers of the stream see the imported events (notifications skip them).
        stream.wake_on_commit()
    return result
