"""Open data's lines, ready to send: each request as every file writes it, kept current.

Formatting every row at the download (reports.sqlcsv, sqlgeojson, sqlparquet) costs the
database about a CPU-second per 100,000 rows (the sort, `to_char`, the JSON), whatever else
is done. Here the same code formats each request once, when it changes, into a table per
format (`OpenDataNyc`, ...: the line's text), and a download is one range scan of its format's
table by the (`requested_at`, request) index, in blocks of lines the database joins
(`_blocks`), passed on as they come.

- **Kept by the event stream.** The `open_data` consumer renders the requests of each batch of
  events, set-based, on the worker: nothing is added to the request's own transaction. Each
  format's line is written inside the database, one statement per format (its query over
  the batch's ids, the line joined from its columns as the download's CSV would write them,
  upserted: `_write_decided`); only the few requests a rule of Python's could change (a
  note to redact, a sensitive point to round: the queries' mark) go through Python, all
  four of their lines upserted by one statement (`_write`).
- **Today included.** A download first renders the requests whose events the consumer has
  not read yet (`ready`): at most a few, the consumer reading after every commit; more than
  `CATCH_UP_LIMIT` (a history being replayed) and the file is formatted as it is read, as
  before. So a file holds every change committed before it started, as the old path did.
- **The city as the lines were written for it.** `shape()` fingerprints what a line depends
  on beyond its request: the kinds of area (the GeoJSON and Parquet columns), the time zone,
  the phone region that redaction reads, the catalog's names and which types publish their
  descriptions (the redaction and rounding rule), the departments' names. When the city's
  differs from the lines', nothing is served from them: the download formats as it reads,
  and the consumer (or `city311 rebuild_reports`) rebuilds them. The worker rebuilds a step
  at a time (`rebuild_step`, about `STEP_SECONDS` each, committed), since a task is stopped
  at 120 s and a large city's lines take minutes: a city upgrading to a version with the
  lines, or changing its time zone, has them back within the hour, downloads correct
  meanwhile.
- **Bulk loads**: `import_nyc` renders what it loaded in the same transaction;
  `rebuild_reports` rebuilds the lines with the rollups. A writer that bypasses the actions
  (a raw UPDATE) must rebuild, as for the rollups.

PostgreSQL only: on SQLite the files are written by Python as they are read (`opendata`).
"""

from __future__ import annotations

import hashlib
import json
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from city311.catalog.models import Department, ServiceType
from city311.cities import profile
from city311.lib import phones
from city311.reports import nyc, opendata, sqlcsv, sqlgeojson, sqlparquet
from city311.reports.models import (
    OpenDataGeoJson,
    OpenDataGeoReport,
    OpenDataNyc,
    OpenDataParquet,
    OpenDataShape,
)
from city311.servicerequests.models import (
    ConsumedEvent,
    ConsumerCursor,
    RequestEvent,
    ServiceRequest,
)

CONSUMER = "open_data"
# Bump when a format's text changes: the lines are then rebuilt before they are served.
VERSION = 1
# Each format's table, in the order they are rendered.
TABLES = {
    "nyc": OpenDataNyc._meta.db_table,
    "georeport": OpenDataGeoReport._meta.db_table,
    "geojson": OpenDataGeoJson._meta.db_table,
    "parquet": OpenDataParquet._meta.db_table,
}
# A download reads its lines in blocks of about `BLOCK_BYTES`, at most `READ_BLOCK` lines. Not
# larger: a block of 4 MB or more is memory fresh from the system in the database (the joined
# text, then its message) and in Python, touched page by page, and cost both twice the CPU per
# line that blocks of 1 MB did (GeoJSON and Parquet, 100,000 lines, measured).
BLOCK_BYTES = 1 << 20
READ_BLOCK = 16384
# Blocks a Parquet download reads ahead while Arrow reads and writes a row group (at most
# ~16 MB): more than a row group's, so the reading runs on through Arrow's work.
READ_AHEAD = 16
T = TypeVar("T")
# Requests rendered at once (their four lines are held in memory: ~2 KB a request).
RENDER_BATCH = 10_000
# A download renders at most this many requests' pending events itself (see the docstring).
CATCH_UP_LIMIT = 2_000
# A rebuild by the worker renders batches for about this long, then leaves the rest to its
# next run: django-q stops a task at 120 s (Q_CLUSTER timeout), and a rebuild stopped so would
# roll back and start again, for ever.
STEP_SECONDS = 20.0


def shape() -> str:
    """The fingerprint of what every line depends on beyond its request and its catalog."""
    facts = [
        VERSION,
        opendata.area_kinds(),
        profile.zone().key,
        phones.region(),
        opendata.ROUNDED_DIGITS,
    ]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


def catalog() -> dict[str, str]:
    """What a line reads of its type and department, by "t<id>" and "d<id>": names, codes,
    and whether the type publishes its descriptions (the redaction and rounding rule)."""
    types = ServiceType.objects.values_list(
        "pk", "service_code", "service_name", "group", "publish_description"
    )
    departments = Department.objects.values_list("pk", "slug", "name")
    found = {f"t{pk}": json.dumps(rest) for pk, *rest in types}
    found.update({f"d{pk}": json.dumps(rest) for pk, *rest in departments})
    return {key: hashlib.sha256(text.encode()).hexdigest()[:16] for key, text in found.items()}


def _changed(written: dict[str, str], now: dict[str, str]) -> list[str]:
    """The types and departments whose lines were written otherwise than they now read (a
    new one has no lines yet; one removed has none left)."""
    return sorted(key for key, value in written.items() if key in now and now[key] != value)


def _written_for() -> OpenDataShape | None:
    return OpenDataShape.objects.filter(pk=1).first()


# Writing the lines


def render(ids: Sequence[int] | None) -> int:
    """Write the lines of these requests (None: every request), `RENDER_BATCH` at a time; the
    number of requests rendered. A reading older than the line's is never written over it."""
    if connection.vendor != "postgresql":
        return 0
    done = 0
    for batch in _batches(ids):
        done += _render_batch(batch)
    return done


def _batches(ids: Sequence[int] | None) -> Iterator[list[int]]:
    if ids is not None:
        for start in range(0, len(ids), RENDER_BATCH):
            yield list(ids[start : start + RENDER_BATCH])
        return
    for batch, _last in _batches_after(None):
        yield batch


def _batches_after(last: tuple[Any, int] | None) -> Iterator[tuple[list[int], tuple[Any, int]]]:
    """Every request after `last` (requested_at, id), oldest first, in batches, each with its
    last request's key: the lines are then laid down in the order a download reads them (its
    index scan reads the table's pages in turn)."""
    while True:
        found = ServiceRequest.objects.order_by("requested_at", "pk")
        if last is not None:
            found = found.filter(
                Q(requested_at__gt=last[0]) | Q(requested_at=last[0], pk__gt=last[1])
            )
        batch = list(found.values_list("requested_at", "pk")[:RENDER_BATCH])
        if not batch:
            return
        last = batch[-1]
        yield [pk for _at, pk in batch], last


def _render_batch(ids: list[int]) -> int:
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Before the first reading: the moment this rendering's data is as of, at the
            # latest.
            cursor.execute("SELECT clock_timestamp()")
            (read_at,) = cursor.fetchone()
        decided, marked = _write_decided(ids, read_at)
        if not marked:
            return decided
        # The few a rule of Python's could change: every format's line of each, by Python.
        rendered = [
            {pk: line[:-1] for pk, line in sqlcsv.lines("nyc", None, None, marked)},
            {pk: line[:-1] for pk, line in sqlcsv.lines("georeport", None, None, marked)},
            dict(sqlgeojson.features(None, None, marked)),
            dict(sqlparquet.rows(None, None, marked)),
        ]
        # The requests every format read (one deleted meanwhile has no lines to write).
        found = [pk for pk in rendered[0] if all(pk in lines for lines in rendered[1:])]
        if found:
            _write(found, [[lines[pk].decode() for pk in found] for lines in rendered], read_at)
        return decided + len(found)


# What makes PostgreSQL's CSV quote a text (a comma, a quote, a line end).
QUOTED = r"""E'[",\n\r]'"""


def _csv_field(value: str) -> str:
    """A text as PostgreSQL's `COPY ... (FORMAT csv)` writes it among other columns: NULL as
    nothing, quoted when empty or holding a comma, a quote or a line end (quotes doubled)."""
    return (
        f"CASE WHEN {value} IS NULL THEN '' WHEN {value} = '' OR {value} ~ {QUOTED}"
        f" THEN '\"' || replace({value}, '\"', '\"\"') || '\"' ELSE {value} END"
    )


def _csv_line(values: list[str]) -> str:
    """The CSV line of these texts, none of them empty (the CSV formats write '' as NULL): as
    they are, joined by commas, unless one of them is to be quoted (one test of the whole
    row), then each as `_csv_field` writes it."""
    plain = " || ',' || ".join(f"coalesce({v}, '')" for v in values)
    quoted = " || ',' || ".join(_csv_field(v) for v in values)
    return f"CASE WHEN concat({', '.join(values)}) ~ {QUOTED} THEN {quoted} ELSE {plain} END"


def _formats_sql(ids: list[int]) -> list[tuple[str, str, list[Any], str]]:
    """Each format's query over the requests `ids` (the same the download formats as it reads,
    `sqlcsv`, `sqlgeojson`, `sqlparquet`) as (its named columns, the query, its parameters,
    the line the database writes of a row it decided), in `TABLES`' order. The line is the
    text the download's COPY would have sent for the row, the same bytes."""
    import pyarrow as pa

    found: list[tuple[str, str, list[Any], str]] = []
    for code in ("nyc", "georeport"):
        width = len(nyc.COLUMNS if code == "nyc" else opendata.GEOREPORT)
        sql, more = sqlcsv.query(code, None, None, ids)
        names = ["mark", "id", *(f"c{i}" for i in range(width))]
        names += [f"r{i}" for i in range(len(sqlcsv.RAW))]
        line = _csv_line([f"f.c{i}" for i in range(width)])
        found.append((", ".join(names), sql, more, line))
    sql, more = sqlgeojson.query(None, None, ids)
    found.append(("mark, id, line", sql, more, "f.line"))
    sql, more, names = sqlparquet.query(None, None, ids)
    schema = opendata.parquet_schema(opendata.area_kinds())
    values = []
    for field in schema:
        column = f'f."{field.name}"'
        if field.type == pa.bool_():
            values.append(f"CASE WHEN {column} THEN 't' WHEN NOT {column} THEN 'f' ELSE '' END")
        elif field.type == pa.float64():
            values.append(f"coalesce({column}::text, '')")
        else:
            values.append(_csv_field(column))
    columns = ", ".join(["mark", *(f'"{name}"' for name in names[1:])])
    found.append((columns, sql, more, " || ',' || ".join(values)))
    return found


def _write_decided(ids: list[int], read_at: datetime) -> tuple[int, list[int]]:
    """Write, inside the database, each format's line of each of these requests that the
    database decides whole (one statement per format: its query, its upsert); (how many
    requests were written in every format, the ids of the others, for Python)."""
    import psycopg

    formats = _formats_sql(ids)
    marks = ["f.mark = 't'", "f.mark = 't'", "f.mark = 't'", "f.mark"]
    marked: set[int] = set()
    read = 0
    connection.ensure_connection()
    # Bound by the server (the ids as one array).
    with psycopg.Cursor(connection.connection) as cursor:
        for kind, table in enumerate(TABLES.values()):
            names, sql, params, line = formats[kind]
            cursor.execute(
                f"WITH f ({names}) AS ({sql}), times AS (SELECT id, requested_at"
                f" FROM {ServiceRequest._meta.db_table} WHERE id = ANY(%s)), written AS ("
                f"INSERT INTO {table} (request_id, requested_at, rendered_at, line)"
                f" SELECT f.id, times.requested_at, %s, {line} FROM f"
                " JOIN times ON times.id = f.id"
                f" WHERE NOT ({marks[kind]}) ORDER BY times.requested_at, f.id"
                " ON CONFLICT (request_id) DO UPDATE SET requested_at = excluded.requested_at,"
                " rendered_at = excluded.rendered_at, line = excluded.line"
                f" WHERE {table}.rendered_at <= excluded.rendered_at)"
                f" SELECT count(*), array(SELECT f.id FROM f WHERE {marks[kind]}) FROM f",
                [*params, ids, read_at],
            )
            found, ids_marked = cursor.fetchone() or (0, [])
            read = read if kind else found
            marked.update(ids_marked)
    return read - len(marked), sorted(marked)


def _write(ids: list[int], lines: list[list[str]], read_at: datetime) -> None:
    """The lines of these requests (one list per format, in `TABLES`' order), upserted into
    every format's table by one statement: the lines go as arrays, each table's upsert is a
    part of the statement. A line read before the one already written is not written."""
    import psycopg

    columns = ", ".join("%b::text[]" for _ in TABLES)
    parts = []
    for kind, table in enumerate(TABLES.values()):
        parts.append(
            f"INSERT INTO {table} (request_id, requested_at, rendered_at, line)"
            f" SELECT id, requested_at, %s, line{kind} FROM rendered ORDER BY requested_at, id"
            " ON CONFLICT (request_id) DO UPDATE SET requested_at = excluded.requested_at,"
            " rendered_at = excluded.rendered_at, line = excluded.line"
            f" WHERE {table}.rendered_at <= excluded.rendered_at"
        )
    names = ", ".join(f"line{kind}" for kind in range(len(TABLES)))
    sql = (
        f"WITH lines (id, {names}) AS (SELECT * FROM unnest(%b::bigint[], {columns})),"
        f" rendered AS (SELECT lines.*, sr.requested_at FROM lines"
        f" JOIN {ServiceRequest._meta.db_table} sr USING (id)),"
        + ", ".join(f" written{kind} AS ({part})" for kind, part in enumerate(parts[:-1]))
        + f" {parts[-1]}"
    )
    connection.ensure_connection()
    # Bound by the server (Django's cursor would write the arrays into the statement's text).
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, [ids, *lines, *[read_at] * len(TABLES)])


def rebuild() -> int:
    """Every line again, for the city as it is now (after a bulk load, a change of the
    catalog, or to repair); the number of requests rendered. Holds the consumer's cursor while
    it runs and then marks the events up to its start handled, as `rollup.rebuild` does."""
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic():
        cursor, _ = ConsumerCursor.objects.select_for_update().get_or_create(name=CONSUMER)
        newest = RequestEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        done = _rebuild_lines()
        cursor.done_upto = max(cursor.done_upto, newest)
        cursor.seen_upto = max(cursor.seen_upto, newest)
        cursor.settled_upto = max(cursor.settled_upto, newest)
        cursor.seen_at = timezone.now()
        cursor.save()
    return done


def _rebuild_lines() -> int:
    current, types = shape(), catalog()
    with connection.cursor() as cursor:
        # Not TRUNCATE: a transaction that wrote lines (a load, then this) holds their
        # foreign-key checks, which TRUNCATE refuses to run behind.
        for table in TABLES.values():
            cursor.execute(f"DELETE FROM {table}")
    done = render(None)
    OpenDataShape.objects.update_or_create(
        pk=1,
        defaults={
            "shape": current,
            "catalog": types,
            "rebuilding": "",
            "rebuilt_at": None,
            "rebuilt_id": 0,
        },
    )
    return done


def rebuild_step(seconds: float | None = None) -> tuple[int, bool]:
    """Rebuild the lines for the city as it is now, from where the last step stopped, for
    about `seconds` (`STEP_SECONDS`); (requests rendered, whether the lines are now
    complete). Run inside the caller's transaction, which commits the progress with them."""
    current = shape()
    written, _ = OpenDataShape.objects.select_for_update().get_or_create(
        pk=1, defaults={"shape": "", "catalog": {}}
    )
    if written.shape == current and not written.rebuilding:
        return 0, True
    if written.rebuilding != current:  # a new rebuild (or the city changed under the last)
        written.rebuilding, written.rebuilt_at, written.rebuilt_id = current, None, 0
        # The catalog as the first batch reads it: a type changed during the rebuild then
        # differs from it, and its lines are written again once the rebuild is done.
        written.catalog = catalog()
    done, stop = 0, time.monotonic() + (STEP_SECONDS if seconds is None else seconds)
    after = (written.rebuilt_at, written.rebuilt_id) if written.rebuilt_at else None
    for batch, last in _batches_after(after):
        done += _render_batch(batch)
        written.rebuilt_at, written.rebuilt_id = last
        if time.monotonic() >= stop:
            written.save()
            return done, False
    written.shape, written.rebuilding = current, ""
    written.rebuilt_at, written.rebuilt_id = None, 0
    written.save()
    return done, True


def _catch_up_catalog(written: OpenDataShape) -> int:
    """Write again the lines of the types and departments that changed since theirs were
    written; the number of requests rendered."""
    now = catalog()
    changed = _changed(written.catalog, now)
    if not changed and written.catalog.keys() >= now.keys():
        return 0
    types = [int(key[1:]) for key in changed if key[0] == "t"]
    departments = [int(key[1:]) for key in changed if key[0] == "d"]
    ids = list(
        ServiceRequest.objects.filter(
            Q(service_type_id__in=types) | Q(department_id__in=departments)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    done = render(ids)
    written.catalog = now
    written.save(update_fields=["catalog"])
    return done


# The consumer


def handle_events(events: Sequence[RequestEvent]) -> None:
    """The stream's handler: render the requests these events changed, on the worker. When
    the city has changed under the lines (`shape`), every line is rebuilt; when a type or a
    department has, its requests' lines. A request whose line was read well after its event
    (a settle window: the event had committed) is left: a replay after a rebuild or an
    import renders nothing twice."""
    if connection.vendor != "postgresql":
        return
    written = _written_for()
    if written is None or written.shape != shape() or written.rebuilding:
        # A step of the rebuild; the batch's own requests are rendered below either way.
        rebuild_step()
        written = _written_for()
    if written is not None and not written.rebuilding:
        _catch_up_catalog(written)
    latest: dict[int, datetime] = {}
    for event in events:
        seen = latest.get(event.request_id)
        latest[event.request_id] = event.at if seen is None else max(seen, event.at)
    margin = timedelta(seconds=settings.CITY311_STREAM_SETTLE_SECONDS)
    rendered = dict(
        OpenDataNyc.objects.filter(request_id__in=list(latest)).values_list(
            "request_id", "rendered_at"
        )
    )
    stale = [
        pk for pk, at in sorted(latest.items()) if pk not in rendered or rendered[pk] < at + margin
    ]
    render(stale)


def refresh() -> int:
    """Bring the lines in line with the city (the schedule's, after a change of the catalog
    or of the city's settings): every line when the city changed, the lines of a changed type
    or department otherwise; the number rendered (0 when they were current)."""
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic():
        written = _written_for()
        if written is None or written.shape != shape() or written.rebuilding:
            return rebuild_step()[0]
        return _catch_up_catalog(written)


# Reading them


def ready() -> bool:
    """Whether a download may read the lines: on PostgreSQL, written for the city as it is,
    and brought up to date here with the events the consumer has not read yet (none or a few
    when it keeps up; past `CATCH_UP_LIMIT`, no)."""
    if connection.vendor != "postgresql":
        return False
    written = _written_for()
    if (
        written is None
        or written.rebuilding
        or written.shape != shape()
        or _changed(written.catalog, catalog())
    ):
        return False
    after = (
        ConsumerCursor.objects.filter(name=CONSUMER).values_list("done_upto", flat=True).first()
        or 0
    )
    handled = ConsumedEvent.objects.filter(consumer=CONSUMER, event_id__gt=after)
    waiting = list(
        RequestEvent.objects.filter(pk__gt=after)
        .exclude(pk__in=handled.values("event_id"))
        .values_list("request_id", flat=True)[: CATCH_UP_LIMIT + 1]
    )
    if len(waiting) > CATCH_UP_LIMIT:
        return False
    if waiting:
        render(sorted(set(waiting)))
    return True


def _blocks(
    code: str,
    since: date | None,
    until: date | None,
    separator: bytes,
    *,
    group: int = 0,
) -> Iterator[tuple[bytes, int]]:
    """The format's lines of the range's requests, oldest first, a block at a time: each block
    the lines joined by `separator` (no line end after the last) and its number of lines,
    about `BLOCK_BYTES` (the next block's lines are the last one's bytes per line into it), at
    most `READ_BLOCK` lines; with `group`, no block crosses a multiple of `group` lines (a
    Parquet row group is whole blocks).

    The database joins them (`string_agg` over the lines read in the index's order, a sort
    would spill them to disk) and sends the block as one value, raw (binary results, no
    escaping): Python does nothing per line. Each block is the next lines after the last one
    sent, by their key (`requested_at`, request), each read as committed when it is asked
    for: a request filed during the download is in it if it sorts after the lines already
    sent, and every change committed before the download started is."""
    import psycopg
    from psycopg.types.string import ByteaBinaryLoader

    where, params = sqlcsv.period(since, until)
    after = f"{' AND' if where else ' WHERE'} (sr.requested_at, sr.request_id) > (%s, %s)"
    lines = (
        f"SELECT line, requested_at, request_id FROM {TABLES[code]} sr{{}}"
        " ORDER BY sr.requested_at, sr.request_id LIMIT %s"
    )
    joined = "SELECT string_agg(line, %s), count(*), max(requested_at),"
    joined += " (array_agg(request_id))[count(*)] FROM ({}) s"
    first = joined.format(lines.format(where))
    following = joined.format(lines.format(where + after))
    params = [separator.decode(), *params]
    connection.ensure_connection()
    # Read on this connection (from a thread too, `_read_ahead`: Django's are per thread).
    database = connection.connection

    def size(sent: int, per_line: float) -> int:
        wanted = max(1, min(READ_BLOCK, int(BLOCK_BYTES / per_line)))
        return min(wanted, group - sent % group) if group else wanted

    def read() -> Iterator[tuple[bytes, int]]:
        with psycopg.Cursor(database) as cursor:
            # The text as it is stored, as bytes: not decoded, not encoded again.
            cursor.adapters.register_loader("text", ByteaBinaryLoader)
            # The first block guesses a kilobyte a line (a GeoJSON feature's size).
            sent, limit = 0, size(0, 1024)
            cursor.execute(first, [*params, limit], binary=True)
            while True:
                block, count, last_at, last_id = cursor.fetchone() or (b"", 0, None, 0)
                if not count:
                    return
                yield block, count
                if count < limit:
                    return
                sent += count
                limit = size(sent, max(len(block), 1) / count)
                cursor.execute(following, [*params, last_at, last_id, limit], binary=True)

    return read()


def export(code: str, since: date | None, until: date | None) -> Iterator[bytes]:
    """The file of format `code` for the range, read from the lines (`ready()` first). The
    separators between blocks go as chunks of their own: a block is not copied to add one."""
    if code in ("nyc", "georeport"):
        yield sqlcsv.header(code)
        for block, _count in _blocks(code, since, until, b"\n"):
            yield block
            yield b"\n"
    elif code == "geojson":
        # A feature is one line (JSON escapes its line ends): the features joined by commas.
        yield sqlgeojson.HEAD
        first = True
        for block, _count in _blocks(code, since, until, b","):
            if not first:
                yield b","
            yield block
            first = False
        yield sqlgeojson.TAIL
    else:
        yield from _parquet(since, until)


def _parquet(since: date | None, until: date | None) -> Iterator[bytes]:
    """A row group (`opendata.ROW_GROUP` lines) at a time, typed by Arrow's CSV reader; the
    next blocks are read from the database while Arrow reads and writes this row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = opendata.parquet_schema(opendata.area_kinds())
    types: dict[str, Any] = {f.name: f.type for f in schema}
    spool = opendata._Spool()
    writer = pq.ParquetWriter(pa.PythonFile(spool, mode="w"), schema, compression="zstd")
    written = 0
    blocks = _blocks("parquet", since, until, b"\n", group=opendata.ROW_GROUP)
    pieces: list[bytes] = []
    lines = 0

    def row_group() -> Any:
        block = b"\n".join(pieces)
        # Arrow reads a block four times as fast when no value holds a line end (or a
        # carriage return, which its CSV reader takes for one).
        newlines = b"\r" in block or block.count(b"\n") != lines - 1
        return sqlparquet.read_block(block, schema.names, types, newlines=newlines)

    # Blocks end at a row group's end: a row group is its blocks joined, read by Arrow at once.
    for block, count in _read_ahead(blocks):
        pieces.append(block)
        lines += count
        if lines == opendata.ROW_GROUP:
            writer.write_table(row_group())
            written += 1
            pieces, lines = [], 0
            yield spool.take()
    if pieces:
        writer.write_table(row_group())
    elif not written:
        writer.write_table(schema.empty_table())
    writer.close()
    yield spool.take()


_END = object()


def _read_ahead(found: Iterator[T], held: int = READ_AHEAD) -> Iterator[T]:
    """`found`'s items, the next ones read by a thread while the caller works on this one
    (Arrow lets the thread run while it reads and writes; the database's connection is
    used by one thread at a time). At most `held` items wait, and the one being handed
    over; the thread stops when the caller does."""
    ahead: queue.Queue[Any] = queue.Queue(maxsize=held)
    stop = threading.Event()

    def hand_over(item: Any) -> bool:
        """Whether the item was handed over (not when the caller stopped meanwhile)."""
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in found:
                if not hand_over(item):
                    return
            hand_over(_END)
        except BaseException as error:  # the caller raises it
            hand_over(error)

    thread = threading.Thread(target=read, name="open-data-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := ahead.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
        if hasattr(found, "close"):
            found.close()
