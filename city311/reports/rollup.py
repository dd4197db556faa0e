"""Keeping the rollups: the `reports` consumer of the event stream, and the rebuild.

Every event of a request makes its fact be read again from the request and its history
(`read_facts`); the day totals then move by the difference between the old fact's counts and
the new one's (`contributions`). Handling an event twice reads the same fact twice and moves
nothing the second time: the consumer is idempotent, as the stream requires.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from city311.cities import profile
from city311.geo.models import BoundaryKind
from city311.reports import heat, recount
from city311.reports.models import (
    CLOSE_COLUMNS,
    COUNTERS,
    EVERY_CHANNEL,
    EVERY_DEPARTMENT,
    EVERY_TEAM,
    EVERY_TYPE,
    HEAT_KEY,
    HOUR_BUCKETS,
    RESPONSE_COLUMNS,
    DaySummary,
    DayTotal,
    HeatCell,
    MonthSummary,
    MonthTotal,
    RequestFact,
)
from city311.servicerequests.models import ConsumerCursor, RequestEvent, ServiceRequest
from city311.servicerequests.vocabulary import Event, Status

CONSUMER = "reports"
# The first of these a person does after filing is the city's first response.
RESPONSE_KINDS = (Event.STARTED, Event.ASSIGNED, Event.CLOSED, Event.NOTE)
CLOCK_KINDS = (Event.PAUSED, Event.RESUMED, Event.REOPENED)
# From this many requests at once, refresh recounts them in the database (reports.recount):
# below it, Python's few queries cost about what the set-wise statements' fixed cost does
# (bench/reports_real.py: 20 requests 1.0 s in Python, 0.2 s set-wise, at load 13).
SET_WISE_FROM = 20
FACT_FIELDS = [f.attname for f in RequestFact._meta.concrete_fields]
KEY = ("day", "type_id", "department_id", "team_id", "channel", "urgent", "area_kind", "area_code")

Key = tuple[date, int, int, int, str, bool, str, str]
Counts = dict[Key, dict[str, float]]


def bucket(hours: float) -> int:
    """The index of the HOUR_BUCKETS bucket a duration falls in."""
    for i, bound in enumerate(HOUR_BUCKETS):
        if bound is None or hours <= bound:
            return i
    return len(HOUR_BUCKETS) - 1


def steps(degrees: float) -> int:
    """A coordinate rounded as the open data rounds it, in whole steps (heat.STEP): floor of
    x + 1/2, as the heat map's SQL and recount's do."""
    return math.floor(degrees / heat.STEP + 0.5)


def local_day(moment: datetime, zone: Any) -> date:
    return moment.astimezone(zone).date()


# Reading facts


def read_facts(request_ids: Iterable[int]) -> dict[int, RequestFact]:
    """The facts of these requests as they stand now (requests that no longer exist: none)."""
    ids = list(request_ids)
    zone = profile.zone()
    requests = ServiceRequest.objects.filter(pk__in=ids).only(
        "pk",
        "service_type_id",
        "department_id",
        "team_id",
        "channel",
        "urgent",
        "historical",
        "areas",
        "requested_at",
        "closed_at",
        "status",
        "resolution",
        "due_at",
        "paused_at",
        "lat",
        "long",
    )
    events = RequestEvent.objects.filter(
        request_id__in=ids, kind__in=(*RESPONSE_KINDS, *CLOCK_KINDS)
    ).values_list("request_id", "kind", "at", "public", "actor_id")
    history: dict[int, list[tuple[str, datetime, bool, int | None]]] = defaultdict(list)
    for request_id, kind, at, public, actor_id in events.order_by("at", "id"):
        history[request_id].append((kind, at, public, actor_id))
    return {sr.pk: _fact(sr, history.get(sr.pk, []), zone) for sr in requests}


def _fact(sr: ServiceRequest, history: list[Any], zone: Any) -> RequestFact:
    closed = sr.status == Status.CLOSED and sr.closed_at is not None
    fact = RequestFact(
        request_id=sr.pk,
        type_id=sr.service_type_id,
        department_id=sr.department_id or 0,
        team_id=sr.team_id or 0,
        channel=sr.channel,
        urgent=sr.urgent,
        historical=sr.historical,
        areas={
            kind: str(area.get("code", ""))
            for kind, area in (sr.areas or {}).items()
            if kind != BoundaryKind.CITY_LIMITS and isinstance(area, dict) and area.get("code")
        },
        requested_at=sr.requested_at,
        received_day=local_day(sr.requested_at, zone),
        first_response_at=_first_response(history),
        closed_at=sr.closed_at if closed else None,
        closed_day=local_day(sr.closed_at, zone) if closed and sr.closed_at else None,
        resolution=sr.resolution if closed else "",
        due_at=sr.due_at,
        due_day=local_day(sr.due_at, zone) if sr.due_at else None,
        reopened=any(kind == Event.REOPENED for kind, *_ in history),
    )
    if sr.lat is not None and sr.long is not None:
        fact.lat_step, fact.long_step = steps(sr.lat), steps(sr.long)
    if closed and sr.due_at is not None and sr.closed_at is not None:
        stopped = min(sr.closed_at, _clock_stopped_at(history) or sr.closed_at)
        fact.on_time = stopped <= sr.due_at
    if not closed and sr.paused_at is not None and sr.due_at is not None:
        fact.held = sr.paused_at < sr.due_at
    return fact


def _first_response(history: list[Any]) -> datetime | None:
    """The first thing a person did: started, assigned, closed or wrote to the resident."""
    for kind, at, public, actor_id in history:
        if kind in RESPONSE_KINDS and (kind != Event.NOTE or public) and actor_id is not None:
            return at  # type: ignore[no-any-return]
    return None


def _clock_stopped_at(history: list[Any]) -> datetime | None:
    """When a request closed while paused stopped its clock: the last pause with no resume
    (or reopening) after it; None if the clock was running when it closed."""
    stopped = None
    for kind, at, *_ in history:
        if kind == Event.PAUSED:
            stopped = at
        elif kind in (Event.RESUMED, Event.REOPENED):
            stopped = None
    return stopped


# What a fact counts


def contributions(fact: RequestFact) -> Iterator[tuple[Key, dict[str, float]]]:
    """The counts one request adds to the day totals, for the whole city and each area."""
    live_open = fact.closed_at is None and not fact.historical
    by_day: dict[date, dict[str, float]] = defaultdict(dict)
    received = by_day[fact.received_day]
    received["received"] = 1
    if fact.first_response_at is not None:
        hours = (fact.first_response_at - fact.requested_at).total_seconds() / 3600
        received["responded"] = 1
        received[RESPONSE_COLUMNS[bucket(hours)]] = 1
    if fact.closed_at is not None and fact.closed_day is not None:
        seconds = max(0.0, (fact.closed_at - fact.requested_at).total_seconds())
        received[CLOSE_COLUMNS[bucket(seconds / 3600)]] = 1
        closed = by_day[fact.closed_day]
        closed["closed"] = 1
        closed["closed_seconds"] = seconds
        if fact.on_time is not None:
            closed["closed_target"] = 1
            closed["closed_on_time"] = int(fact.on_time)
        if fact.reopened:
            closed["closed_reopened"] = 1
    if live_open:
        received["open_now"] = 1
        if fact.due_day is not None and not fact.held:
            by_day[fact.due_day]["open_due"] = by_day[fact.due_day].get("open_due", 0) + 1
    cut = (fact.type_id, fact.department_id, fact.team_id, fact.channel, fact.urgent)
    places = [("", ""), *sorted(fact.areas.items())]
    for day, counts in by_day.items():
        for kind, code in places:
            yield (day, *cut, kind, code), counts


HeatKey = tuple[str, str, int, date, int, str, int, int]


def heat_cells(fact: RequestFact, grid: heat.Grid) -> Iterator[HeatKey]:
    """The heat cells one request counts in (models.HEAT_KEY's order): its month and cell, for
    the whole city and each area; none without a place."""
    if fact.lat_step is None or fact.long_step is None:
        return
    row, column = grid.cell(fact.lat_step, fact.long_step)
    month = fact.received_day.replace(day=1)
    for kind, code in [("", ""), *sorted(fact.areas.items())]:
        yield (kind, code, fact.type_id, month, fact.department_id, fact.channel, row, column)


def write_heat(cells: dict[HeatKey, int]) -> None:
    """Add these counts to the heat cells (INSERT ... ON CONFLICT DO UPDATE)."""
    values = [(*key, n) for key, n in cells.items() if n]
    if not values:
        return
    table = connection.ops.quote_name(HeatCell._meta.db_table)
    marks = ", ".join(["%s"] * (len(HEAT_KEY) + 1))
    sql = (
        f"INSERT INTO {table} ({', '.join(HEAT_KEY)}, n) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(HEAT_KEY)}) DO UPDATE SET n = {table}.n + excluded.n"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def add(totals: Counts, fact: RequestFact | None, sign: int) -> None:
    if fact is None:
        return
    for key, counts in contributions(fact):
        row = totals[key]
        for name, value in counts.items():
            row[name] = row.get(name, 0) + sign * value


def write(totals: Counts) -> None:
    """Add these counts to the day and month totals and their summaries (INSERT ... ON
    CONFLICT DO UPDATE)."""
    rows = [(key, counts) for key, counts in totals.items() if any(counts.values())]
    if not rows:
        return
    months: Counts = defaultdict(dict)
    for (day, *rest), counts in rows:
        _add_to(months[(day.replace(day=1), *rest)], counts)  # type: ignore[index]
    month_rows = [(k, c) for k, c in months.items() if any(c.values())]
    _upsert(DayTotal._meta.db_table, rows)
    _upsert(DaySummary._meta.db_table, list(summaries(rows, by_area_only=True).items()))
    _upsert(MonthTotal._meta.db_table, month_rows)
    _upsert(MonthSummary._meta.db_table, list(summaries(month_rows).items()))


def summaries(
    total_rows: Sequence[tuple[Key, dict[str, float]]], *, by_area_only: bool = False
) -> Counts:
    """The summaries these totals add to: models.MonthSummary's four kinds, or with
    `by_area_only` the by-area kind alone (models.DaySummary)."""
    out: Counts = defaultdict(dict)
    for (day, type_id, department_id, _team, channel, _urgent, kind, code), counts in total_rows:
        keys: list[Key] = [
            (day, EVERY_TYPE, EVERY_DEPARTMENT, EVERY_TEAM, EVERY_CHANNEL, False, kind, code)
        ]
        if not by_area_only:
            keys.append(
                (day, EVERY_TYPE, department_id, EVERY_TEAM, EVERY_CHANNEL, False, kind, code)
            )
            if not kind:
                keys.append((day, type_id, department_id, EVERY_TEAM, EVERY_CHANNEL, False, "", ""))
                keys.append((day, EVERY_TYPE, department_id, EVERY_TEAM, channel, False, "", ""))
        for key in keys:
            _add_to(out[key], counts)
    return out


def _add_to(row: dict[str, float], counts: dict[str, float]) -> None:
    for name, value in counts.items():
        row[name] = row.get(name, 0) + value


def _upsert(name: str, rows: list[tuple[Key, dict[str, float]]]) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(name)
    columns = (*KEY, *COUNTERS)
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTERS)
    sql = (
        f"INSERT INTO {table} ({names}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"
    )
    values: list[tuple[Any, ...]] = [
        (*key, *(counts.get(c, 0) for c in COUNTERS)) for key, counts in rows
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(values), 1000):
            cursor.executemany(sql, values[start : start + 1000])  # type: ignore[arg-type]


def summarise_months() -> None:
    """Write the month summaries from the month totals in the database, in one statement
    (after a bulk count of the month totals, as the benchmark's; the summaries must be empty)."""
    with connection.cursor() as cursor:
        cursor.execute(SUMMARISE_SQL)


_SUMS = ", ".join(f"sum({c})" for c in COUNTERS)
SUMMARISE_SQL = f"""
INSERT INTO reports_monthsummary ({", ".join((*KEY, *COUNTERS))})
SELECT day, {EVERY_TYPE}, {EVERY_DEPARTMENT}, {EVERY_TEAM}, '{EVERY_CHANNEL}', FALSE, area_kind,
       area_code, {_SUMS}
FROM reports_monthtotal GROUP BY day, area_kind, area_code
UNION ALL
SELECT day, {EVERY_TYPE}, department_id, {EVERY_TEAM}, '{EVERY_CHANNEL}', FALSE, area_kind,
       area_code, {_SUMS}
FROM reports_monthtotal GROUP BY day, department_id, area_kind, area_code
UNION ALL
SELECT day, type_id, department_id, {EVERY_TEAM}, '{EVERY_CHANNEL}', FALSE, '', '', {_SUMS}
FROM reports_monthtotal WHERE area_kind = '' GROUP BY day, type_id, department_id
UNION ALL
SELECT day, {EVERY_TYPE}, department_id, {EVERY_TEAM}, channel, FALSE, '', '', {_SUMS}
FROM reports_monthtotal WHERE area_kind = '' GROUP BY day, channel, department_id
"""


# The day summaries from the day totals (models.DaySummary): after a bulk count, and to fill
# them the first time (migration 0007); the summaries must be empty.
SUMMARISE_DAYS_SQL = f"""
INSERT INTO reports_daysummary ({", ".join((*KEY, *COUNTERS))})
SELECT day, {EVERY_TYPE}, {EVERY_DEPARTMENT}, {EVERY_TEAM}, '{EVERY_CHANNEL}', FALSE, area_kind,
       area_code, {_SUMS}
FROM reports_daytotal GROUP BY day, area_kind, area_code
"""


# The consumer


def handle_events(events: Sequence[RequestEvent]) -> None:
    """The stream's handler: bring the facts of these events' requests up to date."""
    refresh({e.request_id for e in events})


def refresh(request_ids: Iterable[int]) -> None:
    """Read these requests' facts again and move the day totals by what changed: in Python
    for a few requests (the stream's usual batch), set-wise in the database for many (a bulk
    load's catch-up, the stream after an import). Both give the same totals."""
    ids = sorted(set(request_ids))
    if len(ids) >= SET_WISE_FROM:
        recount.recount(ids)
        return
    grid = heat.counted_grid(start=True)
    old = RequestFact.objects.in_bulk(ids)
    new = read_facts(ids)
    totals: Counts = defaultdict(dict)
    cells: dict[HeatKey, int] = defaultdict(int)
    changed = []
    for pk in ids:
        before, after = old.get(pk), new.get(pk)
        if before is not None and after is not None and _same(before, after):
            continue
        add(totals, before, -1)
        add(totals, after, +1)
        for fact, sign in ((before, -1), (after, +1)):
            if fact is not None and grid is not None:
                for key in heat_cells(fact, grid):
                    cells[key] += sign
        if after is not None:
            changed.append(after)
    write(totals)
    write_heat(cells)
    RequestFact.objects.bulk_create(
        changed, update_conflicts=True, unique_fields=["request"], update_fields=FACT_FIELDS[1:]
    )


def forget(request_ids: Iterable[int]) -> None:
    """Count requests about to be deleted out of the totals and heat cells, and drop their
    facts (the `pre_delete` of a request, reports.apps): a deleted request leaves no event for
    the consumer to read, so it would stay counted until the next rebuild."""
    old = RequestFact.objects.in_bulk(list(request_ids))
    if not old:
        return
    grid = heat.counted_grid()
    totals: Counts = defaultdict(dict)
    cells: dict[HeatKey, int] = defaultdict(int)
    for fact in old.values():
        add(totals, fact, -1)
        for key in heat_cells(fact, grid) if grid is not None else ():
            cells[key] -= 1
    write(totals)
    write_heat(cells)
    RequestFact.objects.filter(pk__in=list(old)).delete()


def request_deleted(sender: Any, instance: ServiceRequest, **kwargs: Any) -> None:
    forget([instance.pk])


def _same(a: RequestFact, b: RequestFact) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in FACT_FIELDS)


# Rebuilding


def rebuild(*, progress: Any = None) -> int:
    """Recount everything from the requests, set-wise (after a bulk load, or to repair); the
    number of requests counted. Holds the consumer's cursor while it runs, so no dispatch
    writes meanwhile; the events up to the start are then marked handled, since the rebuild
    read their results."""
    with transaction.atomic():
        cursor, _ = ConsumerCursor.objects.select_for_update().get_or_create(name=CONSUMER)
        newest = RequestEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        recount.rebuild()
        done = RequestFact.objects.count()
        if progress is not None:
            progress(done)
        # Events recorded after `newest` are handled by the consumer as usual (idempotently).
        cursor.done_upto = max(cursor.done_upto, newest)
        cursor.seen_upto = max(cursor.seen_upto, newest)
        cursor.settled_upto = max(cursor.settled_upto, newest)
        cursor.seen_at = timezone.now()
        cursor.save()
    return done
