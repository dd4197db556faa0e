"""`city311 import_nyc`: New York City-shaped 311 files loaded set-wise.

1. Stage. The file is read once (gzip or plain, any of the layouts `nyc.canonical_header`
   knows) into a staging table of text columns: on PostgreSQL through one COPY, on SQLite by
   batched inserts. Nothing is typed there (PostgreSQL 15 cannot skip a bad row inside COPY);
   each row keeps the number of the line it starts on.
2. Ask the city's engines once per distinct question, not once per line: the service type of
   each complaint type and descriptor (the catalog's own names and codes, then the city's
   mapping, `nyc.Mapping`), the areas of each distinct point (one vectorised lookup per batch
   of points), the department of each agency and of each type and set of areas (the city's
   routing rules). Each answer set is a temporary table the lines are joined with.
3. Type and validate, set-based: one statement types every text once (a time by a pattern
   that admits only real dates, then PostgreSQL's own reading), one UPDATE marks each line
   with the first rule it fails (a date that is not a date, a latitude that is not a number,
   a key already imported...), one the keys repeated in the file.
4. Insert, set-based: INSERT ... SELECT the valid rows, typed, in file order, each with a
   tracking number drawn for it, then their history events (imported, and closed) the same way.
5. The report rollups catch up on the imported requests, and the event stream is woken.

Every rejected line is reported by its number and reason; the valid ones are loaded.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterable, Iterator
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
from city311.reports import nyc, openlines, rollup
from city311.servicerequests import bulk, stream
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.servicerequests.routing import Router
from city311.servicerequests.tracking import new_tracking_numbers
from city311.servicerequests.vocabulary import Event, Status

STAGING = "city311_nyc_staging"
BATCH = 10000
# The file's columns kept.
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
STAGED = ["line", "problem", *READ]
# The staged columns the engines' questions and joins read.
JOINED = ["problem", "complaint_type", "descriptor", "latitude", "longitude", "agency"]
TIMES = ["created_date", "closed_date", "due_date", "resolution_action_updated_date"]
TIME_LABELS = ["Created Date", "Closed Date", "Due Date", "Resolution Action Updated Date"]
# The engines' answers, one row per distinct question (nycimport._map_*), the typed lines, and
# the tracking numbers drawn; all temporary, dropped at the end.
TYPES, POINTS = "city311_nyc_types", "city311_nyc_points"
AGENCIES, ROUTES = "city311_nyc_agencies", "city311_nyc_routes"
TYPED, NUMBERS = "city311_nyc_typed", "city311_nyc_numbers"
TEMPORARY = [STAGING, TYPES, POINTS, AGENCIES, ROUTES, TYPED, NUMBERS]
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


# The SQL that differs by database


# Dates that exist, by pattern alone (a 31st of June or a 29th of February 2023 is no date), so
# PostgreSQL's own reading of a timestamp, which would stop the statement on one, is asked only
# of those: a CASE on the pattern is the guard PostgreSQL 15 has for a cast (no
# pg_input_is_valid yet). The same texts as nyc.parse_time reads.
_LEAP = r"(?:[1-9]\d(?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)"
_LONG, _SHORT = r"(?:0[13578]|1[02])", r"(?:0[469]|11)"
_DAY28, _DAY30, _DAY31 = (
    r"(?:0[1-9]|1\d|2[0-8])",
    r"(?:0[1-9]|[12]\d|30)",
    r"(?:0[1-9]|[12]\d|3[01])",
)
US_VALID = (
    rf"^(?:(?:{_LONG}/{_DAY31}|{_SHORT}/{_DAY30}|02/{_DAY28})/[1-9]\d{{3}}|02/29/{_LEAP}) "
    r"(?:0\d|1[0-2]):[0-5]\d:[0-5]\d [AP]M$"
)
ISO_VALID = (
    rf"^(?:[1-9]\d{{3}}-(?:{_LONG}-{_DAY31}|{_SHORT}-{_DAY30}|02-{_DAY28})|{_LEAP}-02-29)"
    r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?$"
)


def _postgres_time(column: str, zone: str) -> str:
    """A staged text as the moment it names in the city's time, NULL when it is not one. The
    US form is rewritten as ISO first, so the session's DateStyle cannot change its reading;
    fractions of a second are dropped, as nyc.parse_time drops them."""
    c = f"s.{column}"
    us_as_iso = (
        f"substr({c}, 7, 4) || '-' || substr({c}, 1, 2) || '-' || substr({c}, 4, 2) || ' ' "
        f"|| substr({c}, 12, 11)"
    )
    return (
        f"(CASE WHEN {c} ~ '{US_VALID}' THEN CAST({us_as_iso} AS timestamp) "
        f"AT TIME ZONE '{zone}' WHEN {c} ~ '{ISO_VALID}' THEN CAST(substr({c}, 1, 19) "
        f"AS timestamp) AT TIME ZONE '{zone}' END)"
    )


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
    columns = ", ".join(f"{c} {'integer' if c == 'line' else 'text'}" for c in STAGED)
    with connection.cursor() as cursor:
        for table in TEMPORARY:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGING} ({columns})")


def _stage(path: Path, progress: Callable[[int], None] | None) -> int:
    """The file's lines into the staging table as they are read, text as written."""
    count = 0
    names = ", ".join(STAGED)
    lines = read_lines(path)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One COPY for the whole file: nothing else is asked of the database meanwhile.
            with cursor.cursor.copy(f"COPY {STAGING} ({names}) FROM STDIN") as copy:
                while batch := list(islice(lines, BATCH)):
                    for line, problem, values in batch:
                        copy.write_row((line, problem, *values))
                    count += len(batch)
                    if progress:
                        progress(len(batch))
        else:
            marks = ", ".join(["%s"] * len(STAGED))
            sql = f"INSERT INTO {STAGING} ({names}) VALUES ({marks})"
            while batch := list(islice(lines, BATCH)):
                cursor.executemany(
                    sql, [(line, problem, *values) for line, problem, values in batch]
                )
                count += len(batch)
                if progress:
                    progress(len(batch))
        # A temporary table has no statistics until asked: without them PostgreSQL plans the
        # engines' joins as if on a few rows (the routes' question took 13 times as long).
        # On PostgreSQL only the columns those joins and questions read: the others'
        # statistics (the notes, the addresses) were most of its cost.
        postgres = connection.vendor == "postgresql"
        cursor.execute(f"ANALYZE {STAGING}" + (f" ({', '.join(JOINED)})" if postgres else ""))
    return count


# What the city's engines add, each question asked once per distinct answer


def _copy_rows(table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """Rows into a temporary table as they come: COPY on PostgreSQL, batched inserts on
    SQLite."""
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            rows = iter(rows)
            while batch := list(islice(rows, BATCH)):
                cursor.executemany(sql, batch)
        cursor.execute(f"ANALYZE {table}")


def _distinct(sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def _map_types(catalog: Catalog) -> None:
    """The service type of each complaint type and descriptor found in the file: the catalog's
    own names and codes first, then the city's mapping (a few hundred pairs, not a row each)."""
    pairs = _distinct(
        f"SELECT DISTINCT complaint_type, descriptor FROM {STAGING} WHERE problem = ''"
    )
    rows = []
    for complaint, descriptor in pairs:
        st = catalog.service_type(complaint, descriptor)
        if st is not None:
            rows.append((complaint, descriptor, st.pk))
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {TYPES} (complaint_type text, descriptor text, "
            "service_type_id integer)"
        )
    _copy_rows(TYPES, ["complaint_type", "descriptor", "service_type_id"], rows)


def _map_points(catalog: Catalog) -> None:
    """The areas of each distinct point of the file (one vectorised lookup per batch of
    points): a city's requests come again and again from the same places."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {POINTS} (latitude text, longitude text, areas text, "
            "area_key text)"
        )
    points = _distinct(
        f"SELECT DISTINCT latitude, longitude FROM {STAGING} "
        "WHERE problem = '' AND latitude <> '' AND longitude <> ''"
    )
    rows = []
    for start in range(0, len(points), BATCH):
        batch = points[start : start + BATCH]
        found = catalog.areas_at(
            [_number(lat) for lat, _long in batch], [_number(long) for _lat, long in batch]
        )
        rows += [
            (lat, long, catalog.areas_json(areas), ",".join(map(str, areas)))
            for (lat, long), areas in zip(batch, found, strict=True)
            if areas
        ]
    _copy_rows(POINTS, ["latitude", "longitude", "areas", "area_key"], rows)


def _map_departments(catalog: Catalog) -> None:
    """The department of each line: the file's agency when it names one of the city's
    departments, else the city's routing rules for the type and the areas (asked once for
    each type and set of areas found)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {AGENCIES} (agency text, department_id integer)")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {ROUTES} (service_type_id integer, area_key text, "
            "department_id integer)"
        )
    _copy_rows(AGENCIES, ["agency", "department_id"], list(catalog.departments.items()))
    combinations = _distinct(
        f"SELECT DISTINCT t.service_type_id, coalesce(p.area_key, '') FROM {STAGING} s "
        f"JOIN {TYPES} t ON t.complaint_type = s.complaint_type "
        "AND t.descriptor = s.descriptor "
        f"LEFT JOIN {POINTS} p ON p.latitude = s.latitude AND p.longitude = s.longitude "
        f"WHERE s.problem = '' AND upper(s.agency) NOT IN (SELECT agency FROM {AGENCIES})"
    )
    types = {st.pk: st for st in catalog.types.values()}
    rows = []
    for type_id, key in combinations:
        areas = tuple(int(i) for i in key.split(",")) if key else ()
        rows.append((type_id, key, catalog.department(types[type_id], "", areas)))
    _copy_rows(ROUTES, ["service_type_id", "area_key", "department_id"], rows)


# Typing and validating


def _type_lines(dialect: Dialect) -> None:
    """Every staged line with its texts typed (once each) and the engines' answers joined."""
    d = dialect
    typed = ", ".join(
        [
            *(f"{d.time(c)} AS t_{c}" for c in TIMES),
            f"{d.number('latitude')} AS t_latitude",
            f"{d.number('longitude')} AS t_longitude",
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {TYPED} AS SELECT s.*, t.service_type_id, "
            "coalesce(a.department_id, r.department_id) AS department_id, "
            f"coalesce(p.areas, '{{}}') AS areas, {typed} FROM {STAGING} s "
            f"LEFT JOIN {TYPES} t ON t.complaint_type = s.complaint_type "
            "AND t.descriptor = s.descriptor "
            f"LEFT JOIN {POINTS} p ON p.latitude = s.latitude AND p.longitude = s.longitude "
            f"LEFT JOIN {AGENCIES} a ON a.agency = upper(s.agency) "
            f"LEFT JOIN {ROUTES} r ON r.service_type_id = t.service_type_id "
            "AND r.area_key = coalesce(p.area_key, '')"
        )
        cursor.execute(f"CREATE INDEX {TYPED}_line ON {TYPED} (line)")
        # No ANALYZE here (half a second of the database's CPU at 100,000 lines): the typed
        # lines are read whole, by scans and hash joins, which their size on disk plans well.


def _checks() -> list[tuple[str, str]]:
    """(condition, reason) of every rule a line must pass, in the order they are told: a
    line is rejected for the first it fails."""
    table = ServiceRequest._meta.db_table
    checks = [
        ("s.unique_key = ''", "'Unique Key is empty'"),
        ("length(s.unique_key) > 60", "'Unique Key is longer than 60 characters'"),
        (
            "s.t_created_date IS NULL",
            "'Created Date ' || QUOTE(s.created_date) || "
            "' is not a date and time such as 05/01/2022 12:00:03 AM'",
        ),
    ]
    for column, label in zip(TIMES[1:], TIME_LABELS[1:], strict=True):
        checks.append(
            (
                f"s.{column} <> '' AND s.t_{column} IS NULL",
                f"'{label} ' || QUOTE(s.{column}) || ' is not a date and time'",
            )
        )
    for column, label, low, high in (
        ("latitude", "Latitude", -90, 90),
        ("longitude", "Longitude", -180, 180),
    ):
        value = f"s.t_{column}"
        checks.append(
            (
                f"s.{column} <> '' AND ({value} IS NULL OR {value} < {low} OR {value} > {high})",
                f"'{label} ' || QUOTE(s.{column}) || ' is not a number between {low} and {high}'",
            )
        )
    checks += [
        (
            "(coalesce(s.t_latitude, 0) = 0) <> (coalesce(s.t_longitude, 0) = 0)",
            "'give both Latitude and Longitude, or neither'",
        ),
        ("s.t_closed_date < s.t_created_date", "'Closed Date is before Created Date'"),
        ("s.service_type_id IS NULL", "'no service type in the catalog for Complaint Type ' || "
         "QUOTE(s.complaint_type)"),
        (
            f"s.unique_key IN (SELECT r.external_id FROM {table} r WHERE r.application = %s)",
            "'Unique Key ' || QUOTE(s.unique_key) || ' was imported already'",
        ),
    ]  # fmt: skip
    return checks


def _validate(dialect: Dialect, application: str) -> None:
    """Mark each line that fails a rule with the first rule's reason: one pass for the rules
    of a line, one for the keys repeated in the file."""
    quote = "quote_literal(" if dialect.postgres else "quote("
    checks = _checks()
    cases = " ".join(f"WHEN {c} THEN {r.replace('QUOTE(', quote)}" for c, r in checks)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TYPED} SET problem = c.reason FROM (SELECT s.line, CASE {cases} END "
            f"AS reason FROM {TYPED} s WHERE s.problem = '') c "
            f"WHERE {TYPED}.line = c.line AND c.reason IS NOT NULL",
            [application],
        )
        # The second and later lines of a key: numbered in one sort, not compared in pairs.
        cursor.execute(
            f"UPDATE {TYPED} SET problem = 'Unique Key ' || {quote}unique_key) || "
            "' is also on an earlier line' "
            f"WHERE line IN (SELECT line FROM (SELECT line, row_number() OVER "
            f"(PARTITION BY unique_key ORDER BY line) AS nth FROM {TYPED} "
            "WHERE problem = '') numbered WHERE nth > 1)"
        )


def _draw_numbers(count: int) -> None:
    """`count` fresh tracking numbers, the nth for the nth valid line, drawn a batch at a time
    into the database (a million of them held in Python took 200 MB); those drawn twice or
    already taken are found by the database and drawn again until none is."""
    table = ServiceRequest._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {NUMBERS} (nth integer PRIMARY KEY, tracking_number text)"
        )
    # Each batch drawn before its COPY: drawing reads the city's profile, and the connection
    # cannot answer a query while a COPY is under way on it.
    for start in range(0, count, BATCH):
        drawn = new_tracking_numbers(min(BATCH, count - start))
        _copy_rows(NUMBERS, ["nth", "tracking_number"], enumerate(drawn, start=start + 1))
    while True:
        taken = _distinct(
            f"SELECT n.nth FROM {NUMBERS} n JOIN {table} r "
            "ON r.tracking_number = n.tracking_number "
            f"UNION SELECT nth FROM (SELECT nth, row_number() OVER (PARTITION BY tracking_number "
            f"ORDER BY nth) AS k FROM {NUMBERS}) numbered WHERE k > 1"
        )
        if not taken:
            return
        fresh = new_tracking_numbers(len(taken))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {NUMBERS} SET tracking_number = %s WHERE nth = %s",
                [(number, nth) for number, (nth,) in zip(fresh, taken, strict=True)],
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


def _insert_requests(dialect: Dialect, application: str) -> None:
    d = dialect
    closed = (
        "coalesce(s.t_closed_date, CASE WHEN lower(s.status) = 'closed' "
        "THEN coalesce(s.t_resolution_action_updated_date, s.t_created_date) END)"
    )
    words = " OR ".join(
        f"lower(s.resolution_description) LIKE '%%{w}%%'" for w in nyc.NO_ACTION_WORDS
    )
    in_progress = ", ".join(f"'{s}'" for s in nyc.STATUS_IN_PROGRESS)
    channels = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in nyc.CHANNEL_IN.items())
    given = {
        "tracking_number": "n.tracking_number",
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
        "lat": "CASE WHEN s.t_latitude = 0 THEN NULL ELSE s.t_latitude END",
        "long": "CASE WHEN s.t_longitude = 0 THEN NULL ELSE s.t_longitude END",
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
        "department_id": "s.department_id",
        "urgent": "t.urgency = 'urgent'",
        "requested_at": "s.t_created_date",
        "updated_at": f"coalesce(s.t_resolution_action_updated_date, {closed}, s.t_created_date)",
        "closed_at": closed,
        "due_at": f"coalesce(s.t_due_date, {d.due_by_sla('s.t_created_date')})",
    }
    types = ServiceType._meta.db_table
    # The nth valid line takes the nth tracking number drawn.
    source = (
        f"FROM (SELECT v.*, row_number() OVER (ORDER BY v.line) AS nth FROM {TYPED} v "
        f"WHERE v.problem = '') s JOIN {NUMBERS} n ON n.nth = s.nth "
        f"JOIN {types} t ON t.id = s.service_type_id ORDER BY s.line"
    )
    if not d.postgres:
        _insert_select(ServiceRequest, given, source)
        return
    # The word-search and area indexes (GIN) take a bulk load's entries faster gathered in
    # their pending list and merged once, sorted, than merged each time 4 MB of them pile up.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL gin_pending_list_limit = '1GB'")
    _insert_select(ServiceRequest, given, source)
    with connection.cursor() as cursor:
        for name in _gin_indexes(ServiceRequest._meta.db_table):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [name])
        cursor.execute("RESET gin_pending_list_limit")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _insert_events(dialect: Dialect, application: str, first_id: int) -> None:
    d = dialect
    table = ServiceRequest._meta.db_table
    label = _literal(f"Imported from {application}"[:120])
    # The requests just inserted: past the last id before the load, of this load's application
    # (the primary key's range, not a join with the staged lines).
    source = (
        f"FROM {table} r WHERE r.id > {int(first_id)} AND r.application = {_literal(application)}"
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
        source + " ORDER BY r.id",
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
        source + " AND r.closed_at IS NOT NULL ORDER BY r.id",
    )


# Requests counted into the reports per set-wise recount after a load.
CATCH_UP = 50_000


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
    indexes: str = "auto",
) -> Result:
    """Load the NYC-shaped file at `path`; returns how many were imported and every rejected
    line with its reason. ImportFailed when the file cannot be read at all. `catch_up`: count
    the imported requests into the report rollups now (else `rebuild_reports` must, later).
    `indexes`: `rebuild` sets the requests' and events' secondary indexes and foreign keys aside
    for the insert and builds them again after (PostgreSQL; `bulk.bulk_load`), `keep`
    inserts into them as they are, `auto` rebuilds for a load of at least BULK_FROM requests
    into a table that holds no more than the load brings."""
    say = say or (lambda _text: None)
    application = f"import_nyc {path.name}"[:120]
    catalog = Catalog(nyc.Mapping(mapping))
    result = Result(application=application)
    with transaction.atomic():
        first_id = ServiceRequest.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        dialect = Dialect()
        if dialect.postgres:
            # The load's sorts (file order, the numbering of the valid lines, repeated keys)
            # and hash joins over every line, in memory rather than spilled to disk in batches
            # (the default 4 MB spilled 100,000 lines' sorts in 60 MB runs).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '256MB'")
        _create_staging()
        staged = _stage(path, progress)
        say(f"Staged {staged:,} lines; checking them.")
        _map_types(catalog)
        _map_points(catalog)
        _map_departments(catalog)
        _type_lines(dialect)
        _validate(dialect, application)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {TYPED} WHERE problem = ''")
            result.imported = cursor.fetchone()[0]
        _draw_numbers(result.imported)
        # The import counts its requests into the reports itself (below): the reports' consumer
        # is held meanwhile, with every other writer of requests and events, and is then moved
        # past the imported events, so that it does not count them a second time. The events
        # it had still to read are counted here with them.
        claimed = stream.claim(rollup.CONSUMER) if catch_up else None
        waiting = stream.waiting(claimed) if claimed is not None else []
        held = bulk.held_requests(result.imported * 10) if dialect.postgres else 0
        with bulk.bulk_load(result.imported, indexes=indexes) as aside:
            if aside is not None:
                say(
                    f"Checked {staged:,} lines; set {len(aside.indexes)} indexes and "
                    f"{len(aside.keys)} foreign keys aside to insert {result.imported:,} "
                    "requests."
                )
            else:
                say(f"Checked {staged:,} lines; inserting {result.imported:,} requests.")
            _insert_requests(dialect, application)
            say(f"Inserted {result.imported:,} requests; writing their history.")
            _insert_events(dialect, application, first_id)
            if dialect.postgres:
                _business_hours_due(application, first_id)
            say(f"Wrote the history of {result.imported:,} requests.")
        if aside is not None:
            say(f"Built {len(aside.indexes)} indexes and {len(aside.keys)} foreign keys again.")
        elif dialect.postgres and result.imported * 10 >= held:
            # A load of a tenth of the table or more (autovacuum's own threshold): plan the
            # next reads (the heat map's GROUP BY, the queue) on the table's new size, not on
            # statistics of before (or none yet). A smaller one leaves them to autovacuum. (The
            # bulk load counts them itself.)
            with connection.cursor() as cursor:
                for model in (ServiceRequest, RequestEvent):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
            say("Counted the requests' statistics for the planner.")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT line, problem FROM {TYPED} WHERE problem <> '' ORDER BY line")
            result.rejected = [(line, problem) for line, problem in cursor.fetchall()]
            for table in TEMPORARY:
                cursor.execute(f"DROP TABLE {table}")
        ids = list(
            ServiceRequest.objects.filter(pk__gt=first_id, application=application)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if catch_up:
            counted = sorted({*ids, *waiting})
            say(f"Counting {len(counted):,} requests into the reports.")
            # Set-wise (reports.recount), CATCH_UP at a time: each recount upserts every day
            # total its requests touch, so fewer, larger ones write each total fewer times.
            for start in range(0, len(counted), CATCH_UP):
                rollup.refresh(counted[start : start + CATCH_UP])
            if claimed is not None:
                stream.handled(claimed)
        # Their open-data lines, set-based (the stream's consumer then finds them current).
        if openlines.render(ids):
            say(f"Rendered the open data of {len(ids):,} requests.")
        # The other consumers of the stream see the imported events (notifications skip them).
        stream.wake_on_commit()
    return result
