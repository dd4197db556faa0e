"""The GeoJSON export on PostgreSQL, written by the database: the same bytes as
`opendata.write_geojson`, without a Python object per value.

The database writes each feature as `json.dumps` does (its separators, `to_json`'s escapes,
which are Python's, the times as `isoformat` in the city's zone, points as `repr`) and marks
the rows a rule of Python's could change (`python`): a status note or description that
`publish.public_text` could redact, a sensitive type's point to round, a coordinate that
`repr` would write in exponent form. Python reads a marked feature back, applies the rules
as `opendata.records` does, and writes it with `json.dumps`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from functools import lru_cache
from typing import Any

from django.db import connection

from city311.cities import profile
from city311.reports import opendata
from city311.reports.sqlcsv import (
    ANALYST_COLUMNS,
    MAY_REDACT,
    _w3c,
    area_columns,
    period,
    requests_joined,
)
from city311.servicerequests.publish import public_text


def _repr(column: str) -> str:
    """A float as Python's `repr` writes it, for the values `_plain` lets through."""
    text = f"{column}::text"
    return f"CASE WHEN {column} = trunc({column}) THEN {text} || '.0' ELSE {text} END"


def _plain(column: str) -> str:
    """Whether PostgreSQL's shortest text of the float is `repr`'s (no exponent form)."""
    exponent = f"(abs({column}) < 1e-4 AND {column} <> 0) OR abs({column}) >= 1e15"
    return f"({column} IS NULL OR NOT ({exponent}))"


def _json(value: str) -> str:
    return f"coalesce(to_json({value})::text, 'null')"


def query(
    since: date | None, until: date | None, ids: list[int] | None = None
) -> tuple[str, list[Any]]:
    """The SELECT of the features, oldest first: whether Python decides the row, the request's
    id, the feature's JSON text."""
    zone = profile.zone().key
    published = "st.publish_description"
    properties = {
        name: _w3c(sql, zone) if name in opendata.TIMES else sql
        for name, sql in ANALYST_COLUMNS.items()
        if name not in ("lat", "long", "sensitive")
    }
    texts = [f"\"{name}\": ' || {_json(sql)} || '" for name, sql in properties.items()]
    texts += [
        f"\"lat\": ' || coalesce({_repr('sr.lat')}, 'null') || '",
        f"\"long\": ' || coalesce({_repr('sr.long')}, 'null') || '",
        f"\"sensitive\": ' || CASE WHEN {published} THEN 'false' ELSE 'true' END || '",
    ]
    for kind in opendata.area_kinds():
        named, code = area_columns(kind)
        for key, value in ((kind, named), (f"{kind}_code", code)):
            key_json = json.dumps(key, ensure_ascii=False).replace("'", "''")
            texts.append(f"{key_json}: ' || {_json(value)} || '")
    geometry = (
        'CASE WHEN sr.lat IS NULL THEN \'null\' ELSE \'{"type": "Point", "coordinates": [\''
        f" || coalesce({_repr('sr.long')}, 'null') || ', ' || {_repr('sr.lat')} || ']}}' END"
    )
    feature = (
        '\'{"type": "Feature", "geometry": \' || '
        f"{geometry} || ', \"properties\": {{{', '.join(texts)}}}}}'"
    )
    python = (
        f"sr.status_notes ~ '{MAY_REDACT}'"
        f" OR ({published} AND sr.description ~ '{MAY_REDACT}')"
        f" OR (NOT {published} AND sr.lat IS NOT NULL AND sr.long IS NOT NULL)"
        f" OR NOT {_plain('sr.lat')} OR NOT {_plain('sr.long')}"
    )
    where, params = period(since, until, ids)
    sql = (
        f"SELECT CASE WHEN {python} THEN 't' ELSE 'f' END, sr.id, {feature}"
        f"{requests_joined()}{where}"
        " ORDER BY sr.requested_at, sr.id"
    )
    return sql, params


def _decide(text: str, redacted: Any) -> str:
    """A marked feature with Python's rules applied (as `opendata.records` applies them)."""
    feature = json.loads(text)
    properties = feature["properties"]
    notes, description = properties["status_notes"], properties["description"]
    properties["status_notes"] = redacted(notes) if notes else ""
    if description:
        properties["description"] = redacted(description)
    lat, long = properties["lat"], properties["long"]
    if properties["sensitive"] and lat is not None and long is not None:
        lat, long = round(lat, opendata.ROUNDED_DIGITS), round(long, opendata.ROUNDED_DIGITS)
        properties["lat"], properties["long"] = lat, long
        feature["geometry"]["coordinates"] = [long, lat]
    return json.dumps(feature, ensure_ascii=False)


HEAD = b'{"type":"FeatureCollection","features":['
TAIL = b"]}\n"


def features(
    since: date | None, until: date | None, ids: list[int] | None = None
) -> Iterator[tuple[int, bytes]]:
    """Each request's feature, oldest first, with the request's id: of the range, or of the
    requests `ids`. A COPY in text format would escape the feature's backslashes, so the rows
    come as PostgreSQL's CSV of three columns: the mark, the id, and the feature quoted (its
    quotes doubled)."""
    sql, params = query(since, until, ids)
    redacted = lru_cache(maxsize=8192)(public_text)
    connection.ensure_connection()
    copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT csv)"
    with connection.connection.cursor() as cursor, cursor.copy(copy_sql, params) as copy:
        for data in copy:
            # f,123,"{...}"\n: the feature between the quotes, each of its quotes doubled.
            row = bytes(data)
            comma = row.index(b",", 2)
            feature = row[comma + 2 : -2].replace(b'""', b'"')
            if row[0] == ord("t"):
                feature = _decide(feature.decode(), redacted).encode()
            yield int(row[2:comma]), feature


def export(since: date | None, until: date | None) -> Iterator[bytes]:
    """The GeoJSON file for the range, as bytes, formatted at the download (the path the
    pre-rendered lines of reports.openlines replace)."""
    parts = [HEAD]
    first = True
    for _pk, feature in features(since, until):
        parts.append(feature if first else b"," + feature)
        first = False
        if len(parts) >= 1000:
            yield b"".join(parts)
            parts = []
    parts.append(TAIL)
    yield b"".join(parts)
