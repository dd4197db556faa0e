"""Writing many requests at once: imported history and a demo city's generated activity.

`submit_request` files one request through every check and side effect; a load of thousands
builds the same rows (the request, its contact, its history events) and hands them here, to be
written with one executemany per table. Rows are plain dicts of column values by field
(`attname`: `service_type_id`, not `service_type`), every other field taking its default:
building a model instance per row and preparing its values field by field through the ORM was
most of a demo load's time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, models, transaction

from city311.servicerequests.models import Contact, RequestEvent, ServiceRequest
from city311.servicerequests.tracking import new_tracking_numbers

Row = dict[str, Any]
# Tracking numbers looked up per query, well under every backend's limit of parameters.
LOOKUP_CHUNK = 500
ATTEMPTS = 5


@dataclass
class Filing:
    """One request as it will be stored, with its history events in order and its contact.
    `write_filings` sets the request's `tracking_number` and `id`."""

    request: Row
    events: list[Row] = field(default_factory=list)
    contact: Row | None = None


def write_filings(filings: Sequence[Filing]) -> None:
    """Store `filings` in one transaction, each with a fresh unused tracking number. Another
    process taking a drawn number in between only means a new draw."""
    for _ in range(ATTEMPTS):
        _draw_numbers([f.request for f in filings])
        try:
            with transaction.atomic():
                _write(filings)
            return
        except IntegrityError:
            continue
    raise RuntimeError("Could not draw unused tracking numbers for a bulk load.")


def _write(filings: Sequence[Filing]) -> None:
    requests = [f.request for f in filings]
    insert_rows(ServiceRequest, requests)
    ids = _ids([r["tracking_number"] for r in requests])
    contacts: list[Row] = []
    events: list[Row] = []
    for f in filings:
        pk = f.request["id"] = ids[f.request["tracking_number"]]
        if f.contact is not None:
            contacts.append({**f.contact, "request_id": pk})
        events.extend({**event, "request_id": pk} for event in f.events)
    insert_rows(Contact, contacts)
    insert_rows(RequestEvent, events)


def _draw_numbers(rows: list[Row]) -> None:
    numbers = set(new_tracking_numbers(len(rows) * 2))
    taken: set[str] = set()
    listed = sorted(numbers)
    for at in range(0, len(listed), LOOKUP_CHUNK):
        found = ServiceRequest.objects.filter(tracking_number__in=listed[at : at + LOOKUP_CHUNK])
        taken.update(found.values_list("tracking_number", flat=True))
    free = iter(numbers - taken)
    for row in rows:
        row["tracking_number"] = next(free)


def _ids(numbers: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for at in range(0, len(numbers), LOOKUP_CHUNK):
        found = ServiceRequest.objects.filter(tracking_number__in=numbers[at : at + LOOKUP_CHUNK])
        ids.update(found.values_list("tracking_number", "pk"))
    return ids


def insert_rows(model: type[models.Model], rows: Sequence[Row]) -> None:
    """Store `rows` of `model`: COPY on PostgreSQL, one executemany elsewhere; a field a row
    does not name takes its default. Ids are not read back."""
    if not rows:
        return
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field]
    columns = [(f.attname, _prepared_default(f), _preparer(f)) for f in fields]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    values = [
        [prepare(row[name]) if name in row else default() for name, default, prepare in columns]
        for row in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: one stream of rows, not a statement per row (the history of a big city is
            # tens of millions of requests and events; `demo --history`).
            names = ", ".join(quote(f.column) for f in fields)
            with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({names}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            cursor.executemany(sql, values)


def _prepared_default(f: models.Field[Any, Any]) -> Callable[[], Any]:
    """The field's default, prepared: once for a fixed one ("", {}, False), per row for a
    time (`timezone.now`)."""
    prepare = _preparer(f)
    if isinstance(f, models.DateTimeField):
        return lambda: prepare(f.get_default())
    fixed = prepare(f.get_default())
    return lambda: fixed


def _preparer(f: models.Field[Any, Any]) -> Callable[[Any], Any]:
    """What the ORM's get_db_prep_save does to a value of this field, chosen once per field:
    for the fields of a request, a contact and an event, only date-times and JSON differ
    from the Python value."""
    if isinstance(f, models.DateTimeField):
        if connection.vendor == "sqlite":
            return _sqlite_datetime
        return connection.ops.adapt_datetimefield_value
    if isinstance(f, models.JSONField):
        encoder = f.encoder
        return lambda value: connection.ops.adapt_json_value(value, encoder)
    if isinstance(f, models.DateField | models.DecimalField | models.UUIDField):
        return lambda value: f.get_db_prep_save(value, connection)
    return _as_is


def _sqlite_datetime(value: datetime | None) -> str | None:
    # As Django's SQLite backend stores it: naive UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]".
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ")


def _as_is(value: Any) -> Any:
    return value


# Bulk mode (PostgreSQL): the secondary indexes and foreign keys set aside for the load

# `auto` rebuilds the indexes when the load is at least this many requests and the table holds
# no more requests than the load brings (a city's first import of its history): past that, the
# rebuild's sorts of the whole table cost more than the load's own index entries.
BULK_FROM = 10_000
INDEX_CHOICES = ("auto", "rebuild", "keep")


def held_requests(limit: int) -> int:
    """The requests the table holds, counted no further than `limit` (a table of millions is
    not read whole to compare it with a load)."""
    table = ServiceRequest._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (SELECT FROM {table} LIMIT %s) held", [limit])
        return int(cursor.fetchone()[0])


def bulk_load_wanted(indexes: str, loading: int, held: int) -> bool:
    """Whether to set the requests' and events' indexes aside for a load of `loading` requests
    into a table that holds `held` (`indexes`: auto, rebuild or keep); on PostgreSQL only."""
    if connection.vendor != "postgresql" or indexes == "keep" or not loading:
        return False
    return indexes == "rebuild" or (loading >= BULK_FROM and held <= loading)


@dataclass
class SetAside:
    """What a bulk load dropped (name, definition), to create again as it was."""

    indexes: list[tuple[str, str]] = field(default_factory=list)
    keys: list[tuple[str, str, str]] = field(default_factory=list)


def set_indexes_aside(tables: list[str], *, unique_keys: bool = False) -> SetAside:
    """Drop the tables' secondary indexes and their foreign keys, as pg_restore loads a table
    before it indexes it: an index built once from sorted entries costs a fraction of the same
    entries inserted one by one (the three GIN, two of them trigrams, above all), and a foreign
    key added again is checked by one join instead of a trigger per row at the commit. Kept:
    the primary key, every unique index (the tracking numbers, the filings' keys: they guard
    the load itself), and the partial indexes of live requests alone (`NOT historical`), which
    an imported, historical request never enters. The tables are locked for the rest of the
    transaction (ACCESS EXCLUSIVE: readers wait too, as for a restore); a failure rolls the
    drops back with the rest, so the table keeps every index. `unique_keys`: the unique
    constraints too, for tables refilled whole whose rows cannot clash (the reports' rollups,
    recounted from nothing)."""
    aside = SetAside()
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
        # A table with deferred checks still pending in this transaction (rows its caller
        # wrote) cannot be altered: they are checked now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisunique "
            "AND NOT i.indisprimary AND coalesce(pg_get_expr(i.indpred, i.indrelid), '') "
            "NOT LIKE %s ORDER BY c.relname",
            [tables, "%NOT historical%"],
        )
        aside.indexes = list(cursor.fetchall())
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype::text = ANY(%s) AND conrelid = ANY(%s::regclass[]) "
            "ORDER BY conname",
            [["f", "u"] if unique_keys else ["f"], tables],
        )
        aside.keys = list(cursor.fetchall())
        quote = connection.ops.quote_name
        for table, name, _definition in aside.keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        for name, _definition in aside.indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
    return aside


def put_indexes_back(aside: SetAside) -> None:
    """Build the indexes again, each in one sorted pass, and add the foreign keys back (each
    checked by one join)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # Room to sort an index's entries in memory (the GIN builds gather theirs in it), until
        # the transaction ends.
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in aside.indexes:
            cursor.execute(definition)
        for table, name, definition in aside.keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")


@contextmanager
def bulk_load(loading: int, *, indexes: str = "auto") -> Iterator[SetAside | None]:
    """Around a load of `loading` requests and their events: when `bulk_load_wanted` says so,
    in one transaction, their secondary indexes and foreign keys are set aside before the
    block and built again after it, and the planner's statistics counted anew; yields what was
    set aside, or None when the load goes into the indexes as they are (and no transaction is
    opened). A failure in the block rolls the drops back with the load: every index stays.
    The one bulk path of `import_nyc` and `demo --history`."""
    held = held_requests(loading * 10) if connection.vendor == "postgresql" else 0
    if not bulk_load_wanted(indexes, loading, held):
        yield None
        return
    tables = [ServiceRequest._meta.db_table, RequestEvent._meta.db_table]
    with transaction.atomic():
        aside = set_indexes_aside(tables)
        yield aside
        put_indexes_back(aside)
        with connection.cursor() as cursor:
            # The tables' new size, for the next reads' plans (the rollups' rebuild, the
            # queue), rather than statistics of before the load (or none yet).
            for table in tables:
                cursor.execute(f"ANALYZE {table}")
