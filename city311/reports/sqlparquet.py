"""The Parquet export on PostgreSQL, a row group at a time straight from the database: the same
table as `opendata.write_parquet`, without a Python object per value.

The database reads each row group's rows and writes them as CSV (`COPY ... TO STDOUT`): times
in UTC with their microseconds, points as PostgreSQL's shortest exact text, NULL unquoted and
an empty text quoted, so nothing is lost on the way. Arrow's CSV reader types a row group's
columns at once. Python then applies, to the rows the database marks (`python`), what only it
may decide, as `opendata.records` does: redacting a status note or description that
`publish.public_text` could change (a digit, an '@' or a character beyond ASCII: the same
mark as `sqlcsv`), and rounding a sensitive type's point.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from django.db import connection

from city311.reports import opendata
from city311.reports.sqlcsv import (
    ANALYST_COLUMNS,
    MAY_REDACT,
    area_columns,
    period,
    requests_joined,
)
from city311.servicerequests.publish import public_text

# A time as Arrow reads it into timestamp("us", "UTC").
UTC_TEXT = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def query(
    since: date | None, until: date | None, ids: list[int] | None = None
) -> tuple[str, list[Any], list[str]]:
    """The SELECT of the rows, oldest first, and the names of its columns: `python` (whether
    Python decides the row), the request's `id`, then the schema's columns in order."""
    kinds = opendata.area_kinds()
    values = dict(ANALYST_COLUMNS)
    for name in opendata.TIMES:
        values[name] = UTC_TEXT.format(values[name])
    for kind in kinds:
        values[kind], values[f"{kind}_code"] = area_columns(kind)
    python = (
        f"sr.status_notes ~ '{MAY_REDACT}'"
        f" OR (st.publish_description AND sr.description ~ '{MAY_REDACT}')"
        " OR (NOT st.publish_description AND sr.lat IS NOT NULL AND sr.long IS NOT NULL)"
    )
    where, params = period(since, until, ids)
    names = ["python", "id", *opendata.parquet_schema(kinds).names]
    selected = [f"({python})", "sr.id", *(values[name] for name in names[2:])]
    sql = f"SELECT {', '.join(selected)}{requests_joined()}{where} ORDER BY sr.requested_at, sr.id"
    return sql, params, names


def read_block(
    block: bytes, names: list[str], types: dict[str, Any], *, newlines: bool = True
) -> Any:
    """Rows of the database's CSV (NULL unquoted, an empty text quoted) as an Arrow table;
    `newlines`: a value may hold a line end (Arrow's slower parser)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    return pcsv.read_csv(
        pa.py_buffer(block),
        read_options=pcsv.ReadOptions(column_names=names, use_threads=False),
        parse_options=pcsv.ParseOptions(newlines_in_values=newlines),
        convert_options=pcsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )


def _table(block: bytes, names: list[str], schema: Any, redacted: Any) -> Any:
    """One row group's CSV as the schema's table (with the requests' `id` first), Python's
    rules applied to marked rows."""
    import pyarrow as pa

    types = {"python": pa.bool_(), "id": pa.int64(), **{f.name: f.type for f in schema}}
    table = read_block(block, names, types)
    marked = [i for i, m in enumerate(table.column("python").to_pylist()) if m]
    table = table.drop_columns(["python"])
    if not marked:
        return table
    columns = {name: table.column(name).to_pylist() for name in ("status_notes", "description")}
    columns.update({name: table.column(name).to_pylist() for name in ("lat", "long", "sensitive")})
    notes, descriptions = columns["status_notes"], columns["description"]
    lats, longs, sensitive = columns["lat"], columns["long"], columns["sensitive"]
    for i in marked:
        notes[i] = redacted(notes[i]) if notes[i] else ""
        if descriptions[i]:
            descriptions[i] = redacted(descriptions[i])
        if sensitive[i] and lats[i] is not None and longs[i] is not None:
            lats[i] = round(lats[i], opendata.ROUNDED_DIGITS)
            longs[i] = round(longs[i], opendata.ROUNDED_DIGITS)
    for name in ("status_notes", "description", "lat", "long"):
        at = table.schema.get_field_index(name)
        field = schema.field(name)
        table = table.set_column(at, field, pa.array(columns[name], field.type))
    return table


def _csv_value(value: Any) -> str:
    """A value as the database's CSV writes it for `read_block` (every text quoted)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return '"' + str(value).replace('"', '""') + '"'


def rows(
    since: date | None, until: date | None, ids: list[int] | None = None
) -> Iterator[tuple[int, bytes]]:
    """Each request's row as CSV that `read_block` reads into the schema's columns (no line
    end), Python's rules applied, with the request's id: of the range, or of the requests
    `ids`. A row the database decided is passed on as it wrote it; the marked ones are read
    by Arrow, decided as the export decides them, and written again."""
    schema = opendata.parquet_schema(opendata.area_kinds())
    sql, params, names = query(since, until, ids)
    redacted = lru_cache(maxsize=8192)(public_text)
    marked: list[bytes] = []
    connection.ensure_connection()
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy,
    ):
        for data in copy:
            row = bytes(data)
            comma = row.index(b",", 2)
            if row[0] == ord("f"):
                yield int(row[2:comma]), row[comma + 1 : -1]
            else:
                marked.append(row)
    for start in range(0, len(marked), opendata.ROW_GROUP):
        table = _table(b"".join(marked[start : start + opendata.ROW_GROUP]), names, schema,
                       redacted)  # fmt: skip
        for values in table.to_pylist():
            pk = values.pop("id")
            yield pk, ",".join(_csv_value(v) for v in values.values()).encode()


def export(since: date | None, until: date | None) -> Iterator[bytes]:
    """The Parquet file for the range, as bytes, a row group (`opendata.ROW_GROUP`) at a time,
    formatted at the download (the path the pre-rendered lines of reports.openlines replace).

    PostgreSQL sends each row of a COPY as a message of its own: a row group is that many
    messages, read by Arrow in one go."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = opendata.parquet_schema(opendata.area_kinds())
    sql, params, names = query(since, until)
    redacted = lru_cache(maxsize=8192)(public_text)
    spool = opendata._Spool()
    writer = pq.ParquetWriter(pa.PythonFile(spool, mode="w"), schema, compression="zstd")
    block: list[bytes] = []
    written = 0
    connection.ensure_connection()
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy,
    ):
        for data in copy:
            block.append(bytes(data))
            if len(block) == opendata.ROW_GROUP:
                table = _table(b"".join(block), names, schema, redacted)
                writer.write_table(table.drop_columns(["id"]))
                written += len(block)
                block = []
                yield spool.take()
    if block or not written:
        if block:
            table = _table(b"".join(block), names, schema, redacted).drop_columns(["id"])
        else:
            table = schema.empty_table()
        writer.write_table(table)
    writer.close()
    yield spool.take()
