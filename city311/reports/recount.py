"""Recounting the rollups set-wise: the facts and totals of many requests in a few statements.

The stream's consumer (reports.rollup.refresh) reads a few requests at a time in Python; after a
bulk load of history that is hours for millions of requests. Here the same rules run inside the
database, on PostgreSQL and SQLite alike:

1. the old facts of the requests in scope are counted out (into a temporary table of deltas);
2. their facts are read again from the requests and their history, by one INSERT ... SELECT
   that says in SQL what rollup._fact says in Python;
3. the new facts are counted in, as rollup.contributions does (one row per day a count falls
   on, for the whole city and each area);
4. the deltas, grouped, are added to the day totals and summaries, the month totals and the month
   summaries (INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE).

The two paths must agree number for number: tests/test_reports_recount.py builds a city
through the actions (the consumer's path), recounts it here and compares every row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import connection

from city311.cities import profile
from city311.geo.models import BoundaryKind
from city311.reports import heat
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
from city311.servicerequests import bulk
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.servicerequests.vocabulary import Event, Status

KEY = ("day", "type_id", "department_id", "team_id", "channel", "urgent", "area_kind", "area_code")
FACT = RequestFact._meta.db_table
REQUEST = ServiceRequest._meta.db_table
EVENT = RequestEvent._meta.db_table
SCOPE = "reports_recount_scope"
DELTA = "reports_recount_delta"
HEAT_DELTA = "reports_recount_heat"
RESPONSE_KINDS = (Event.STARTED, Event.ASSIGNED, Event.CLOSED, Event.NOTE)
CLOCK_KINDS = (Event.PAUSED, Event.RESUMED, Event.REOPENED)
ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-/]+$")


def recount(request_ids: Iterable[int]) -> None:
    """Bring the facts and totals of these requests up to date, set-wise. Run inside a
    transaction that holds the consumer's cursor (rollup.refresh)."""
    sql = _Dialect()
    # The heat cells: into the grid they are counted in.
    grid = heat.counted_grid(start=True)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {HEAT_DELTA}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {HEAT_DELTA} AS SELECT {', '.join(HEAT_KEY)}, n "
            f"FROM {HeatCell._meta.db_table} WHERE 1 = 0"
        )
        cursor.execute(f"DROP TABLE IF EXISTS {DELTA}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {DELTA} AS SELECT {', '.join((*KEY, *COUNTERS))} "
            f"FROM {DayTotal._meta.db_table} WHERE 1 = 0"
        )
        cursor.execute(f"DROP TABLE IF EXISTS {SCOPE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {SCOPE} (id integer PRIMARY KEY)")
        ids = sorted(set(request_ids))
        for start in range(0, len(ids), 10_000):
            cursor.executemany(
                f"INSERT INTO {SCOPE} (id) VALUES (%s)",
                [(i,) for i in ids[start : start + 10_000]],
            )
        if sql.postgres:
            cursor.execute(f"ANALYZE {SCOPE}")
        cursor.execute(sql.contributions(-1, True))
        if grid is not None:
            cursor.execute(sql.heat_cells(-1, True, grid))
        cursor.execute(f"DELETE FROM {FACT} WHERE {sql.in_scope('request_id')}")
        cursor.execute(sql.facts(True))
        cursor.execute(sql.contributions(+1, True))
        if grid is not None:
            cursor.execute(sql.heat_cells(+1, True, grid))
            cursor.execute(sql.heat_upsert())
        for table, day in (
            (DayTotal._meta.db_table, "day"),
            (MonthTotal._meta.db_table, sql.month("day")),
        ):
            cursor.execute(sql.upsert(table, f"SELECT {day} AS day, {', '.join(KEY[1:])}", ""))
        cursor.execute(sql.upsert(DaySummary._meta.db_table, *_by_area("day")))
        summaries = MonthSummary._meta.db_table
        for select, where in _summary_kinds(sql.month("day")):
            cursor.execute(sql.upsert(summaries, select, where))
        cursor.execute(f"DROP TABLE {DELTA}")
        cursor.execute(f"DROP TABLE {HEAT_DELTA}")
        cursor.execute(f"DROP TABLE {SCOPE}")


ROLLUPS = [
    FACT,
    DayTotal._meta.db_table,
    DaySummary._meta.db_table,
    MonthTotal._meta.db_table,
    MonthSummary._meta.db_table,
    HeatCell._meta.db_table,
]


def rebuild() -> None:
    """Count every request anew into emptied rollups (rollup.rebuild), each table written by
    one INSERT ... SELECT ... GROUP BY: the facts from the requests, the day totals from the
    facts, the month totals from the day totals, the month summaries from the month totals,
    the heat cells from the facts. Into empty tables, no row can conflict: plain inserts.

    On PostgreSQL the tables are emptied by TRUNCATE and their indexes, unique keys and foreign
    keys set aside meanwhile (`bulk.set_indexes_aside`), then built again once each, from
    sorted entries, as a bulk load of requests does: of a million requests' rebuild, inserting
    into the day totals' three indexes row by row was most of the time. Readers of the reports
    wait for the rebuild's commit (the tables are locked), then read the new totals."""
    sql = _Dialect()
    aside = None
    with connection.cursor() as cursor:
        if sql.postgres:
            # The GROUP BYs of millions of rows sorted in memory rather than on disk (at 256 MB
            # the day totals' sort of 200,000 requests spilled 187 MB), and no JIT: compiling
            # each statement took 3 to 6 s of the 2 cores, more than it saved.
            cursor.execute("SET LOCAL work_mem = '768MB'")
            cursor.execute("SET LOCAL jit = off")
            aside = bulk.set_indexes_aside(ROLLUPS, unique_keys=True)
            # After: setting them aside checks what this transaction wrote into them first
            # (TRUNCATE refuses a table with checks pending).
            cursor.execute(f"TRUNCATE {', '.join(ROLLUPS)}")
        else:
            for table in ROLLUPS:
                cursor.execute(f"DELETE FROM {table}")
        grid = heat.reset_grid()
        cursor.execute(sql.facts(False))
        days, months = DayTotal._meta.db_table, MonthTotal._meta.db_table
        cursor.execute(sql.contributions(+1, False, into=days))
        cursor.execute(sql.upsert(DaySummary._meta.db_table, *_by_area("day"), source=days))
        select = f"SELECT {sql.month('day')} AS day, {', '.join(KEY[1:])}"
        cursor.execute(sql.upsert(months, select, "", source=days))
        for select, where in _summary_kinds(sql.month("day")):
            cursor.execute(sql.upsert(MonthSummary._meta.db_table, select, where, source=months))
        cursor.execute(sql.heat_cells(+1, False, grid, into=HeatCell._meta.db_table))
        if aside is not None:
            bulk.put_indexes_back(aside)
            for table in ROLLUPS:
                cursor.execute(f"ANALYZE {table}")


def _by_area(day: str) -> tuple[str, str]:
    """The summaries by area (every type, department, team, channel): models.DaySummary's
    only kind, and the first of MonthSummary's."""
    every = f"{EVERY_TYPE}, {EVERY_DEPARTMENT}, {EVERY_TEAM}, '{EVERY_CHANNEL}'"
    return f"SELECT {day} AS day, {every}, FALSE, area_kind, area_code", ""


def _summary_kinds(month: str) -> list[tuple[str, str]]:
    """The four kinds of month summary (models.MonthSummary; rollup.summaries in Python)."""
    return [
        _by_area(month),
        (
            f"SELECT {month} AS day, {EVERY_TYPE}, department_id, {EVERY_TEAM}, "
            f"'{EVERY_CHANNEL}', FALSE, area_kind, area_code",
            "",
        ),
        (
            f"SELECT {month} AS day, type_id, department_id, {EVERY_TEAM}, '{EVERY_CHANNEL}', "
            f"FALSE, '', ''",
            "AND area_kind = ''",
        ),
        (
            f"SELECT {month} AS day, {EVERY_TYPE}, department_id, {EVERY_TEAM}, channel, "
            f"FALSE, '', ''",
            "AND area_kind = ''",
        ),
    ]


def _nonzero() -> str:
    return " OR ".join(f"SUM({c}) <> 0" for c in COUNTERS)


def _kinds(kinds: Iterable[str]) -> str:
    return ", ".join(f"'{kind}'" for kind in kinds)


def _bucket(hours: str) -> str:
    """The HOUR_BUCKETS index of a duration in hours (rollup.bucket)."""
    whens = " ".join(
        f"WHEN {hours} <= {bound} THEN {i}"
        for i, bound in enumerate(HOUR_BUCKETS)
        if bound is not None
    )
    return f"CASE {whens} ELSE {len(HOUR_BUCKETS) - 1} END"


class _Dialect:
    """The few expressions PostgreSQL and SQLite write differently."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.zone = str(profile.zone())
        if not ZONE_NAME.match(self.zone):
            raise ValueError(f"Unexpected time zone name {self.zone!r}.")

    def in_scope(self, column: str) -> str:
        if self.postgres:
            # As an array, not a semi-join: the planner then reads the few requests' events
            # by the index, where a join on a freshly loaded table's stale statistics chose
            # to scan every event (0.9 s against 18 ms for 2,000 requests of 1.6 M events).
            return f"{column} = ANY(ARRAY(SELECT id FROM {SCOPE}))"
        return f"{column} IN (SELECT id FROM {SCOPE})"

    def local_day(self, column: str) -> str:
        if self.postgres:
            return f"(({column}) AT TIME ZONE '{self.zone}')::date"
        return f"django_datetime_cast_date({column}, '{self.zone}', '{connection.timezone_name}')"

    def seconds(self, later: str, earlier: str) -> str:
        """Seconds between two moments, exact to the microsecond as timedelta.total_seconds."""
        if self.postgres:
            return f"EXTRACT(EPOCH FROM ({later} - {earlier}))::float8"
        return f"(django_timestamp_diff({later}, {earlier}) / 1000000.0)"

    def least(self, a: str, b: str) -> str:
        return f"LEAST({a}, {b})" if self.postgres else f"min({a}, {b})"

    def month(self, day: str) -> str:
        if self.postgres:
            return f"date_trunc('month', {day})::date"
        return f"date({day}, 'start of month')"

    def areas(self, column: str) -> str:
        """{kind: code} of a request's areas, city limits and areas without a code left out."""
        limits = BoundaryKind.CITY_LIMITS.value
        if self.postgres:
            return (
                f"COALESCE((SELECT jsonb_object_agg(a.key, a.value ->> 'code') FROM jsonb_each("
                f"CASE WHEN jsonb_typeof({column}) = 'object' THEN {column} ELSE '{{}}' END) a "
                f"WHERE a.key <> '{limits}' AND jsonb_typeof(a.value) = 'object' "
                f"AND COALESCE(a.value ->> 'code', '') <> ''), '{{}}'::jsonb)"
            )
        return (
            f"COALESCE((SELECT json_group_object(a.key, CAST(json_extract(a.value, '$.code') "
            f"AS TEXT)) FROM json_each({column}) a WHERE a.key <> '{limits}' "
            f"AND a.type = 'object' "
            f"AND COALESCE(CAST(json_extract(a.value, '$.code') AS TEXT), '') <> ''), '{{}}')"
        )

    def area_rows(self, column: str) -> str:
        return f"jsonb_each_text({column})" if self.postgres else f"json_each({column})"

    def facts(self, scoped: bool) -> str:
        """INSERT the facts of the requests in scope (rollup._fact, set-wise)."""
        in_scope = f"AND {self.in_scope('request_id')}" if scoped else ""
        requests_in_scope = f"AND {self.in_scope('r.id')}" if scoped else ""
        closed = f"(r.status = '{Status.CLOSED.value}' AND r.closed_at IS NOT NULL)"
        response = (
            f"kind IN ({_kinds(RESPONSE_KINDS)}) AND (kind <> '{Event.NOTE}' OR public) "
            f"AND actor_id IS NOT NULL"
        )
        stopped = self.least("r.closed_at", "COALESCE(cl.stopped, r.closed_at)")
        columns = [f.column for f in RequestFact._meta.concrete_fields]
        return f"""
INSERT INTO {FACT} ({", ".join(columns)})
WITH ev AS (
  SELECT request_id,
         MIN(CASE WHEN {response} THEN at END) AS first_response_at,
         MAX(CASE WHEN kind = '{Event.REOPENED}' THEN 1 ELSE 0 END) AS reopened
  FROM {EVENT}
  WHERE kind IN ({_kinds((*RESPONSE_KINDS, *CLOCK_KINDS))}) {in_scope}
  GROUP BY request_id
), clock AS (
  SELECT request_id, kind, at,
         ROW_NUMBER() OVER (PARTITION BY request_id ORDER BY at DESC, id DESC) AS n
  FROM {EVENT}
  WHERE kind IN ({_kinds(CLOCK_KINDS)}) {in_scope}
), cl AS (
  -- The clock stopped when the last of its events was a pause (rollup._clock_stopped_at).
  SELECT request_id, CASE WHEN kind = '{Event.PAUSED}' THEN at END AS stopped
  FROM clock WHERE n = 1
)
SELECT r.id, r.service_type_id, COALESCE(r.department_id, 0), COALESCE(r.team_id, 0),
       r.channel, r.urgent, r.historical, {self.areas("r.areas")},
       r.requested_at, {self.local_day("r.requested_at")}, ev.first_response_at,
       CASE WHEN {closed} THEN r.closed_at END,
       CASE WHEN {closed} THEN {self.local_day("r.closed_at")} END,
       CASE WHEN {closed} THEN r.resolution ELSE '' END,
       r.due_at, {self.local_day("r.due_at")},
       CASE WHEN {closed} AND r.due_at IS NOT NULL THEN {stopped} <= r.due_at END,
       CASE WHEN NOT {closed} AND r.paused_at IS NOT NULL AND r.due_at IS NOT NULL
            AND r.paused_at < r.due_at THEN TRUE ELSE FALSE END,
       COALESCE(ev.reopened, 0) = 1,
       {self.steps("r.lat", "r.long")},
       {self.steps("r.long", "r.lat")}
FROM {REQUEST} r
LEFT JOIN ev ON ev.request_id = r.id
LEFT JOIN cl ON cl.request_id = r.id
WHERE TRUE {requests_in_scope}
"""

    def contributions(self, sign: int, scoped: bool, into: str = DELTA) -> str:
        """INSERT into the deltas (or, on a full rebuild, straight into the empty day totals)
        what the facts in scope count (rollup.contributions), times `sign`: one row per day a
        count falls on, for the whole city and for each area. (Each row counts something: a
        request received, closed or due.)"""
        in_scope = f"AND {self.in_scope('request_id')}" if scoped else ""
        seconds = self.seconds("closed_at", "requested_at")
        close_seconds = f"CASE WHEN {seconds} > 0 THEN {seconds} ELSE 0.0 END"
        response_hours = f"({self.seconds('first_response_at', 'requested_at')} / 3600)"
        cut = "type_id, department_id, team_id, channel, urgent, areas"
        live_open = "closed_at IS NULL AND NOT historical"
        names = (
            "received, closed, closed_target, closed_on_time, closed_reopened, closed_seconds, "
            "open_now, open_due, responded"
        )
        sums = ", ".join(
            [
                *(f"{sign} * SUM({c})" for c in names.split(", ")),
                *(
                    f"{sign} * SUM(CASE WHEN cb = {i} THEN 1 ELSE 0 END)"
                    for i in range(len(CLOSE_COLUMNS))
                ),
                *(
                    f"{sign} * SUM(CASE WHEN rb = {i} THEN 1 ELSE 0 END)"
                    for i in range(len(RESPONSE_COLUMNS))
                ),
            ]
        )
        columns = ", ".join((*KEY, *COUNTERS))
        return f"""
INSERT INTO {into} ({columns})
WITH f AS (
  SELECT * FROM {FACT} WHERE TRUE {in_scope}
), parts AS (
  SELECT received_day AS day, {cut},
         1 AS received, 0 AS closed, 0 AS closed_target, 0 AS closed_on_time,
         0 AS closed_reopened, 0.0 AS closed_seconds,
         CASE WHEN {live_open} THEN 1 ELSE 0 END AS open_now, 0 AS open_due,
         CASE WHEN first_response_at IS NOT NULL THEN 1 ELSE 0 END AS responded,
         CASE WHEN closed_at IS NOT NULL AND closed_day IS NOT NULL
              THEN {_bucket(f"({close_seconds}) / 3600")} END AS cb,
         CASE WHEN first_response_at IS NOT NULL THEN {_bucket(response_hours)} END AS rb
  FROM f
  UNION ALL
  SELECT closed_day, {cut}, 0, 1,
         CASE WHEN on_time IS NOT NULL THEN 1 ELSE 0 END,
         CASE WHEN on_time THEN 1 ELSE 0 END,
         CASE WHEN reopened THEN 1 ELSE 0 END,
         {close_seconds}, 0, 0, 0, NULL, NULL
  FROM f WHERE closed_at IS NOT NULL AND closed_day IS NOT NULL
  UNION ALL
  SELECT due_day, {cut}, 0, 0, 0, 0, 0, 0.0, 0, 1, 0, NULL, NULL
  FROM f WHERE {live_open} AND due_day IS NOT NULL AND NOT held
), places AS (
  SELECT p.*, '' AS area_kind, '' AS area_code FROM parts p
  UNION ALL
  SELECT p.*, a.key, a.value FROM parts p, {self.area_rows("p.areas")} a
)
SELECT day, type_id, department_id, team_id, channel, urgent, area_kind, area_code, {sums}
FROM places
GROUP BY day, type_id, department_id, team_id, channel, urgent, area_kind, area_code
"""

    def steps(self, column: str, other: str) -> str:
        """A coordinate in the open data's whole rounding steps (rollup.steps): none unless
        the request has both coordinates."""
        step = f"CAST({heat.STEP!r} AS {'float8' if self.postgres else 'REAL'})"
        return (
            f"CASE WHEN {column} IS NOT NULL AND {other} IS NOT NULL "
            f"THEN CAST(floor({column} / {step} + 0.5) AS integer) END"
        )

    def heat_cells(self, sign: int, scoped: bool, grid: heat.Grid, into: str = HEAT_DELTA) -> str:
        """INSERT into the heat deltas (or, on a full rebuild, the empty heat cells) the cells
        the facts in scope count in (rollup.heat_cells), times `sign`: the month and cell,
        for the whole city and each area."""
        in_scope = f"AND {self.in_scope('request_id')}" if scoped else ""
        return f"""
INSERT INTO {into} ({", ".join(HEAT_KEY)}, n)
WITH f AS (
  SELECT type_id, department_id, channel, areas, {self.month("received_day")} AS month,
         CAST(floor(lat_step * 1.0 / {grid.lat_steps}) AS integer) AS cell_row,
         CAST(floor(long_step * 1.0 / {grid.long_steps}) AS integer) AS cell_column
  FROM {FACT} WHERE lat_step IS NOT NULL AND long_step IS NOT NULL {in_scope}
), places AS (
  SELECT f.*, '' AS area_kind, '' AS area_code FROM f
  UNION ALL
  SELECT f.*, a.key, a.value FROM f, {self.area_rows("f.areas")} a
)
SELECT {", ".join(HEAT_KEY)}, {sign} * COUNT(*) FROM places
GROUP BY {", ".join(HEAT_KEY)}
"""

    def heat_upsert(self) -> str:
        table = HeatCell._meta.db_table
        return f"""
INSERT INTO {table} ({", ".join(HEAT_KEY)}, n)
SELECT {", ".join(HEAT_KEY)}, SUM(n) FROM {HEAT_DELTA} WHERE TRUE
GROUP BY {", ".join(HEAT_KEY)}
HAVING SUM(n) <> 0
ON CONFLICT ({", ".join(HEAT_KEY)}) DO UPDATE SET n = {table}.n + excluded.n
"""

    def upsert(self, table: str, select: str, where: str, source: str = DELTA) -> str:
        """Add the deltas, grouped as `select` says, to `table` (rows that net to nothing
        are left out, as rollup.write leaves them). From another `source` (a full rebuild's
        day or month totals), into an empty table: a plain INSERT."""
        groups = ", ".join(str(i + 1) for i in range(len(KEY)))
        updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTERS)
        conflict = f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"
        return f"""
INSERT INTO {table} ({", ".join((*KEY, *COUNTERS))})
{select}, {", ".join(f"SUM({c})" for c in COUNTERS)}
FROM {source} WHERE TRUE {where}
GROUP BY {groups}
HAVING {_nonzero()}
{conflict if source == DELTA else ""}
"""
