"""The managers' dashboard on a large city: every answer's p95, on PostgreSQL, beside DuckDB
scanning the same requests exported as Parquet.

Goal (issue 20): each tile and chart of the dashboard, for any one filter (type, district,
channel, period), answers in p95 < 500 ms over 30,000,000 requests, and no slower than DuckDB
over Parquet. 30 M does not fit in a few minutes of this 2-core machine: `--requests` sets the
size (default 2,000,000); the figures say what was run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_reports \\
        .venv/bin/python bench/reports.py --requests 2000000

What it does:
1. Checks the free disk space (the rollups' size grows slower than the requests: 3.4 GB at
   1,000,000, about 41 GB at 30,000,000 by the rows a month makes at that size) and says so.
2. Migrates the database, loads the demo catalog and New York's districts.
3. Counts `--requests` requests into the day totals and summaries, month totals and month
   summaries, a month at a time in `--workers` connections, as reports.rollup counts them
   (`--check` compares the two on a small size). The requests are not kept: each one's facts
   (a type, department, channel, urgency, three districts, received over ten years in order,
   closed or open, on time or late, first response) are a function of its number, drawn again
   by each month that counts it. The rollups are unlogged, and their unique keys and indexes
   are built after the counting. The real path (the stream consumer and `rebuild_reports`) is
   timed on real requests by bench/reports_real.py.
4. Times every answer of the dashboard (reports.queries: tiles with the previous period,
   chart by day/month, channels, types, the map by council district) for each filter, and
   the whole page through Django's test client. These answers read the rollups only; the
   page's open points read the requests, and the requests table is empty here (the open
   points and the heat map over real requests: bench/reports_real.py).
5. With duckdb installed: DuckDB draws the same requests with the same SQL into Parquet and
   the same answers are timed there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/city311_bench_reports"
TARGET_MS = 500.0
ANSWERS = ("tiles", "chart", "channels", "types", "map")
ONLY = ""  # --only: the filters timed
# (engine, filter, answer): wall p95 and CPU samples, for the side-by-side table.
WALL: dict[tuple[str, str, str], float] = {}
CPU: dict[tuple[str, str, str], list[float]] = {}


def setup() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE)
    os.environ.setdefault("CITY311_DATA_DIR", str(Path.cwd() / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).parent)]
    import django

    django.setup()
    from django.core.management import call_command

    from city311.catalog.models import ServiceType
    from city311.demo import loader
    from city311.geo.models import Boundary

    call_command("migrate", verbosity=0)
    if not ServiceType.objects.exists():
        loader.load_catalog()
    if not Boundary.objects.exists():
        loader.load_boundaries()


def check_disk(requests: int) -> None:
    free = shutil.disk_usage(tempfile.gettempdir()).free
    # The rollups and their indexes: 3.35 GB at 1,000,000 requests (measured), rows growing
    # as the requests to the power 0.75 (the combinations seen fill up).
    need = 3.35e9 * (requests / 1e6) ** 0.75
    print(f"disk: {free / 1e9:.0f} GB free; {requests:,} requests need about {need / 1e9:.1f} GB")
    if need > free:
        sys.exit("Not enough free disk space for this size: choose a smaller --requests.")


# The generator: each request's facts are a function of its number alone, written in SQL that
# PostgreSQL and DuckDB compute alike, so both engines make the same requests without a copy
# from one to the other, and any month's requests can be made again without keeping them.
# Uniform numbers in [0, 1): an affine step then two squarings modulo the prime 2^31 - 1
# (every product stays under 2^62).
PRIME = 2147483647
STREAMS = {  # name: (multiplier, addend): one independent stream per drawn attribute
    "type": (1103515245, 12345),
    "channel": (69069, 1),
    "urgent": (1664525, 1013904223),
    "borough": (22695477, 1),
    "council": (134775813, 1),
    "community": (214013, 2531011),
    "closed": (16807, 48271),
    "close": (48271, 16807),
    "response": (397204094, 7),
}
CHANNELS = ("web", "phone", "mobile_app", "email", "open311", "walk_in")
# Upper bounds of models.HOUR_BUCKETS (hours), and the longest a request takes to close
# (exp(8) hours, rounded to whole days) or to fall due: how far back a month's closings and
# due dates reach.
BOUNDS = (1, 4, 8, 24, 48, 72, 120, 168, 336, 720, 2160)
REACH_DAYS = 125


def uniform(name: str) -> str:
    a, b = STREAMS[name]
    y = f"mod(id * {a} + {b}, {PRIME})"
    z = f"mod({y} * {y} + 7, {PRIME})"
    return f"(mod({z} * {z} + 11, {PRIME})::float8 / {PRIME})"


def pick(name: str, n: int) -> str:
    return f"(1 + floor({uniform(name)} * {n})::int)"


def bucket(hours: str) -> str:
    """reports.rollup.bucket in SQL: the first bucket whose bound the hours do not pass (the
    number of bounds under them)."""
    return " + ".join(f"({hours} > {b})::int" for b in BOUNDS)


def array(values: list) -> str:
    return "ARRAY[" + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values) + "]"


@dataclass
class City:
    """What the generated requests are drawn from: the catalog's types (with their
    departments) and the districts, and the days of the history."""

    requests: int
    days: int
    today: date
    type_ids: list[int]
    type_departments: list[int]
    codes: dict[str, list[str]]

    @property
    def first_day(self) -> date:
        return self.today - timedelta(days=self.days - 1)

    def day_of(self, request: int) -> date:
        """The day request number `request` (from 1) was received: the history's days in
        order, as many requests each."""
        return self.first_day + timedelta(days=(request - 1) * self.days // self.requests)

    def first_of(self, day: date) -> int:
        """The first request received on `day` or after."""
        k = max(0, (day - self.first_day).days)
        return -(-k * self.requests // self.days) + 1

    def facts(self, ids: str) -> str:
        """A SELECT of the facts of the requests numbered by `ids` (a FROM item giving `id`)."""
        received = (
            f"(DATE '{self.first_day}' + "
            f"floor((id - 1) * {self.days}::float8 / {self.requests})::int)"
        )
        close_hours = f"exp({uniform('close')} * 8)"
        codes = self.codes
        return f"""
SELECT id, type_id, department_id, 0 AS team_id, channel, urgent, borough,
       council_district, community_district, received_day,
       (received_day < DATE '{self.today}' - 30 AND r < 0.97) OR r < 0.6 AS closed,
       close_hours, response_hours, received_day + 5 AS due_day,
       received_day + (close_hours / 24)::int AS closed_day
FROM (
  SELECT id,
         ({array(self.type_ids)})[{pick("type", len(self.type_ids))}] AS type_id,
         ({array(self.type_departments)})[{pick("type", len(self.type_ids))}]
           AS department_id,
         ({array(list(CHANNELS))})[{pick("channel", len(CHANNELS))}] AS channel,
         {uniform("urgent")} < 0.05 AS urgent,
         ({array(codes["borough"])})[{pick("borough", len(codes["borough"]))}] AS borough,
         ({array(codes["council_district"])})
           [{pick("council", len(codes["council_district"]))}] AS council_district,
         ({array(codes["community_district"])})
           [{pick("community", len(codes["community_district"]))}] AS community_district,
         {received} AS received_day,
         {uniform("closed")} AS r,
         {close_hours} AS close_hours,
         exp({uniform("response")} * 5) AS response_hours
  FROM {ids}
) drawn
"""


def city(requests: int, days: int) -> City:
    from django.utils import timezone

    from city311.catalog.models import ServiceType
    from city311.geo.models import Boundary

    types = list(
        ServiceType.objects.exclude(urgency="emergency")
        .exclude(department=None)
        .order_by("pk")
        .values_list("pk", "department_id")
    )
    codes = {
        kind: list(
            Boundary.objects.filter(kind=kind).order_by("code").values_list("code", flat=True)
        )
        for kind in ("borough", "council_district", "community_district")
    }
    return City(
        requests, days, timezone.localdate(), [t for t, _ in types], [d for _, d in types], codes
    )


# What the requests add to one month's day totals (reports.rollup.contributions, set-wise):
# on the day received (received, still open, responded, how long it took to respond and to
# close), on the day closed (closed, on time: due in 5 days) and, while open, on the day due.
MONTH_SQL = """
WITH f AS MATERIALIZED (
  -- The month's requests, and the earlier ones that close or fall due in it (the test runs
  -- before the rest of a request is drawn).
  SELECT * FROM ({facts}) fact
  WHERE received_day >= %(first)s
     OR (closed AND closed_day >= %(first)s AND closed_day < %(after)s)
     OR (NOT closed AND due_day >= %(first)s)
),
c AS (
  SELECT received_day AS day, type_id, department_id, team_id, channel, urgent, borough,
         council_district, community_district, 1 AS received, 0 AS closed_n, 0 AS on_time,
         0::float8 AS seconds, (NOT closed)::int AS open_now, 0 AS open_due,
         CASE WHEN closed THEN {close_bucket} ELSE -1 END AS cb, {response_bucket} AS rb
  FROM f WHERE received_day >= %(first)s AND received_day < %(after)s
  UNION ALL
  SELECT closed_day, type_id, department_id, team_id, channel, urgent, borough,
         council_district, community_district, 0, 1, (close_hours <= 120)::int,
         close_hours * 3600, 0, 0, -1, -1
  FROM f WHERE closed AND closed_day >= %(first)s AND closed_day < %(after)s
  UNION ALL
  SELECT due_day, type_id, department_id, team_id, channel, urgent, borough,
         council_district, community_district, 0, 0, 0, 0, 0, 1, -1, -1
  FROM f WHERE NOT closed AND due_day >= %(first)s AND due_day < %(after)s
),
days AS (
  INSERT INTO reports_daytotal ({key}, {counters})
  SELECT day, type_id, department_id, team_id, channel, urgent, p.kind, p.code,
         sum(received), sum(closed_n), sum(closed_n), sum(on_time), 0, sum(seconds),
         sum(open_now), sum(open_due), sum(received), {close_sums}, {response_sums}
  FROM c CROSS JOIN LATERAL (VALUES ('', ''), ('borough', borough),
    ('council_district', council_district), ('community_district', community_district))
    p(kind, code)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  RETURNING {key}, {counters}
),
summaries AS (
  -- The day summaries (reports.models.DaySummary): each area's day, every cut summed.
  INSERT INTO reports_daysummary ({key}, {counters})
  SELECT day, {every}, FALSE, area_kind, area_code, {sums}
  FROM days GROUP BY 1, 7, 8
)
INSERT INTO bench_month ({key}, {counters})
SELECT %(first)s, type_id, department_id, team_id, channel, urgent, area_kind, area_code,
       {sums}
FROM days GROUP BY 2, 3, 4, 5, 6, 7, 8
"""


def month_sql(town: City, first: date, after: date) -> tuple[str, dict]:
    """The statement that writes one month's day totals, and its month totals into
    bench_month, from the requests that can count in it."""
    from city311.reports.models import (
        CLOSE_COLUMNS,
        COUNTERS,
        EVERY_CHANNEL,
        EVERY_DEPARTMENT,
        EVERY_TEAM,
        EVERY_TYPE,
    )
    from city311.reports.rollup import KEY

    lo = town.first_of(first - timedelta(days=REACH_DAYS))
    hi = min(town.requests, town.first_of(after) - 1)
    n = len(CLOSE_COLUMNS)
    sql = MONTH_SQL.format(
        facts=town.facts(f"generate_series({lo}::bigint, {hi}) AS g(id)"),
        close_bucket=bucket("close_hours"),
        response_bucket=bucket("response_hours"),
        key=", ".join(KEY),
        counters=", ".join(COUNTERS),
        close_sums=", ".join(f"sum((cb = {i})::int)" for i in range(n)),
        response_sums=", ".join(f"sum((rb = {i})::int)" for i in range(n)),
        sums=", ".join(f"sum({c})" for c in COUNTERS),
        every=f"{EVERY_TYPE}, {EVERY_DEPARTMENT}, {EVERY_TEAM}, '{EVERY_CHANNEL}'",
    )
    return sql, {"first": first, "after": after}


def months(town: City) -> list[tuple[date, date]]:
    """The months the history's totals fall in: up to the last due date and closing."""
    found = []
    first = town.first_day.replace(day=1)
    last = town.today + timedelta(days=REACH_DAYS)
    while first <= last:
        after = (first + timedelta(days=32)).replace(day=1)
        found.append((first, after))
        first = after
    return found


ROLLUPS = ("reports_daytotal", "reports_daysummary", "reports_monthtotal", "reports_monthsummary")


def rollup_models() -> list:
    from city311.reports.models import DaySummary, DayTotal, MonthSummary, MonthTotal

    return [DayTotal, DaySummary, MonthTotal, MonthSummary]


def fill(town: City, workers: int) -> None:
    """Count the generated requests into the day totals, month totals and month summaries,
    a month at a time in `workers` connections, with the rollups' indexes built afterwards."""
    import psycopg
    from django.db import connection

    from city311.reports import rollup
    from city311.reports.models import COUNTERS

    phase = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(ROLLUPS)}")
        for table in ROLLUPS:
            # Derived data the benchmark can make again: no write-ahead log.
            cursor.execute(f"ALTER TABLE {table} SET UNLOGGED")
        # The unique keys and indexes are built once, after the counting (models' Meta).
        for model in rollup_models():
            table = model._meta.db_table
            for constraint in model._meta.constraints:
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint.name}")
            for index in model._meta.indexes:
                cursor.execute(f"DROP INDEX IF EXISTS {index.name}")
    url = os.environ["DATABASE_URL"]
    columns = ", ".join((*rollup.KEY, *COUNTERS))
    summarise = rollup.SUMMARISE_SQL.replace("reports_monthtotal", "bench_month")
    todo = months(town)
    done = [0]
    lock = threading.Lock()

    def work(share: list[tuple[date, date]]) -> float:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("SET work_mem = '256MB'")
            db.execute(
                f"CREATE TEMP TABLE bench_month AS SELECT {columns} FROM reports_monthtotal "
                f"WITH NO DATA"
            )
            for first, after in share:
                sql, params = month_sql(town, first, after)
                with db.transaction():
                    db.execute(sql, params)
                    db.execute(
                        f"INSERT INTO reports_monthtotal ({columns}) SELECT * FROM bench_month"
                    )
                    db.execute(summarise)
                    db.execute("TRUNCATE bench_month")
                with lock:
                    done[0] += 1
                    if done[0] % 12 == 0:
                        print(f"  {done[0]} of {len(todo)} months, "
                              f"{time.perf_counter() - phase:.0f} s", flush=True)  # fmt: skip
            return backend_cpu_of(db)

    shares = [todo[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        cpu = sum(pool.map(work, shares))
    counted = time.perf_counter() - phase
    print(f"counted: {len(todo)} months in {counted:.0f} s ({cpu:.0f} s of database CPU, "
          f"{workers} connections)")  # fmt: skip
    phase = time.perf_counter()
    pid = backend_pid()
    used = backend_cpu(pid)
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")
    with connection.schema_editor() as editor:
        for model in rollup_models():
            for constraint in model._meta.constraints:
                editor.add_constraint(model, constraint)
            for index in model._meta.indexes:
                editor.add_index(model, index)
    print(f"indexes: built in {time.perf_counter() - phase:.0f} s "
          f"({backend_cpu(pid) - used:.0f} s of database CPU)")  # fmt: skip
    phase, used = time.perf_counter(), backend_cpu(pid)
    with connection.cursor() as cursor:
        for table in ROLLUPS:
            # As autovacuum does in a running city: the visibility map lets the covering
            # indexes answer without the table.
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"vacuum: {time.perf_counter() - phase:.0f} s "
          f"({backend_cpu(pid) - used:.0f} s of database CPU)")  # fmt: skip
    sizes()


def sizes() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        total = 0
        for table in ROLLUPS:
            count = f"SELECT count(*) FROM {table}"
            cursor.execute(
                f"SELECT ({count}), pg_table_size(%s), pg_indexes_size(%s)", [table, table]
            )
            rows, heap, indexes = cursor.fetchone()
            total += heap + indexes
            print(f"  {table}: {rows:,} rows, {heap / 1e6:,.0f} MB table, "
                  f"{indexes / 1e6:,.0f} MB indexes")  # fmt: skip
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) "
                "FROM pg_index WHERE indrelid = %s::regclass ORDER BY 2 DESC",
                [table],
            )
            print("    " + ", ".join(f"{n} {b / 1e6:,.0f} MB" for n, b in cursor.fetchall()))
    print(f"  rollups in all: {total / 1e9:.2f} GB")


def backend_cpu_of(db) -> float:
    pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
    return backend_cpu(pid)


def check(town: City) -> None:
    """Count the generated requests again in Python, one at a time, with the product's own
    reports.rollup (contributions, then the day summaries, month totals and summaries it
    writes), and
    compare with the totals filled in SQL; and compare DuckDB's requests with PostgreSQL's.
    For small sizes: --check with --requests 20000 or so."""
    from collections import defaultdict
    from datetime import datetime

    from django.db import connection
    from django.utils import timezone

    from city311.reports import rollup
    from city311.reports.models import (
        COUNTERS,
        DaySummary,
        DayTotal,
        MonthSummary,
        MonthTotal,
        RequestFact,
    )

    columns = ["id", "type_id", "department_id", "team_id", "channel", "urgent", "borough",
               "council_district", "community_district", "received_day", "closed",
               "close_hours", "response_hours", "due_day", "closed_day"]  # fmt: skip
    sql = town.facts(f"generate_series(1::bigint, {town.requests}) AS g(id)")
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY id")
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    zone = timezone.get_current_timezone()
    days: rollup.Counts = defaultdict(dict)
    for row in rows:
        at = datetime.combine(row["received_day"], datetime.min.time(), zone)
        closed = row["closed"]
        fact = RequestFact(
            type_id=row["type_id"], department_id=row["department_id"], team_id=0,
            channel=row["channel"], urgent=row["urgent"], historical=False,
            areas={k: row[k] for k in ("borough", "council_district", "community_district")},
            requested_at=at, received_day=row["received_day"],
            first_response_at=at + timedelta(hours=row["response_hours"]),
            closed_at=at + timedelta(hours=row["close_hours"]) if closed else None,
            closed_day=row["closed_day"] if closed else None,
            due_day=row["due_day"], on_time=row["close_hours"] <= 120 if closed else None,
        )  # fmt: skip
        rollup.add(days, fact, +1)
    months: rollup.Counts = defaultdict(dict)
    for (day, *rest), counts in days.items():
        row = months[(day.replace(day=1), *rest)]
        for name, value in counts.items():
            row[name] = row.get(name, 0) + value
    summaries = rollup.summaries(list(months.items()))
    by_area = rollup.summaries(list(days.items()), by_area_only=True)
    for model, expected in (
        (DayTotal, days),
        (DaySummary, by_area),
        (MonthTotal, months),
        (MonthSummary, summaries),
    ):
        found = {tuple(getattr(r, k) for k in rollup.KEY): r for r in model._default_manager.all()}
        extra, missing = set(found) - set(expected), set(expected) - set(found)
        assert not extra and not missing, (model.__name__, list(extra)[:3], list(missing)[:3])
        for key, counts in expected.items():
            for name in COUNTERS:
                have, want = getattr(found[key], name), counts.get(name, 0)
                assert abs(have - want) <= 1e-6 * max(1.0, abs(want)), (key, name, have, want)
        print(f"check: {model.__name__} the same as reports.rollup counts ({len(found):,} rows)")
    try:
        import duckdb
    except ImportError:
        return
    ids = f"(SELECT range AS id FROM range(1, {town.requests + 1})) AS g"
    theirs = duckdb.connect().execute(town.facts(ids) + " ORDER BY id").fetchall()
    assert len(theirs) == len(rows)
    for mine, other in zip(rows, theirs, strict=True):
        for name, value in zip(columns, other, strict=True):
            same = abs(mine[name] - value) <= 1e-9 * abs(value) if name.endswith("hours") else (
                mine[name] == value)  # fmt: skip
            assert same, (mine, other)
    print(f"check: DuckDB made the same {len(rows):,} requests")


def filters() -> list[tuple[str, dict]]:
    from city311.catalog.models import ServiceType
    from city311.geo.models import Boundary

    busiest = ServiceType.objects.exclude(urgency="emergency").exclude(department=None).first()
    district = Boundary.objects.filter(kind="council_district").order_by("code").first()
    assert busiest is not None and district is not None
    area = f"council_district:{district.code}"
    every = [
        ("city, 30 days", {}),
        ("city, this year", {"period": "this_year"}),
        ("one type, last month", {"type": busiest.service_code, "period": "last_month"}),
        ("one district, last quarter", {"area": area, "period": "last_quarter"}),
        ("phone, 30 days", {"channel": "phone"}),
        (
            "type + district, last month",
            {"type": busiest.service_code, "area": area, "period": "last_month"},
        ),
        ("city, ten years", {"period": "custom", "since": None, "until": None}),
    ]
    return [(name, data) for name, data in every if ONLY in name]


def answers(data: dict) -> dict[str, object]:
    """Each answer of the dashboard, as a function to time."""
    from django.utils import timezone

    from city311.reports import queries

    today = timezone.localdate()
    if data.get("period") == "custom":
        data = {**data, "since": today - timedelta(days=3650), "until": today}
    cut = queries.cut_for(None, data)
    start, end = queries.period_for(data, today)
    grain = "day" if (end - start).days <= 45 else "month"
    return {
        "tiles": lambda: queries.tiles(cut, start, end, today),
        "chart": lambda: queries.series(cut, start, end, grain),
        "channels": lambda: queries.by_channel(cut, start, end),
        "types": lambda: queries.by_type(cut, start, end, today),
        "map": lambda: queries.by_area(cut, "council_district", start, end, today),
    }


def backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def backend_cpu(pid: int) -> float:
    """CPU seconds the PostgreSQL backend has used (the database runs on this machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(answer, pid: int | None) -> tuple[float, float]:
    """Wall and CPU milliseconds of one call: this process's CPU, plus the database
    backend's when `pid` is given (clock ticks: 10 ms steps)."""
    cpu, server = time.process_time(), backend_cpu(pid) if pid else 0.0
    t = time.perf_counter()
    answer()
    wall = (time.perf_counter() - t) * 1000
    used = time.process_time() - cpu + ((backend_cpu(pid) - server) if pid else 0.0)
    return wall, used * 1000


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)] if samples else 0.0


def time_postgres(rounds: int) -> dict[str, float]:
    from urllib.parse import urlencode

    from pages import manager_client

    client = manager_client()
    worst: dict[str, float] = {}
    pid = backend_pid()
    print(f"\nPostgreSQL, p95 of {rounds} rounds, ms (target {TARGET_MS:.0f}):")
    print(f"  {'filter':30}" + "".join(f"{h:>8}" for h in (*ANSWERS, "page")))
    for name, data in filters():
        times: dict[str, list[float]] = {}
        for key, answer in answers(data).items():
            answer()  # once to warm the cache, as a dashboard in use is
            for _ in range(rounds):
                wall, cpu = timed(answer, pid)
                times.setdefault(key, []).append(wall)
                CPU.setdefault(("pg", name, key), []).append(cpu)
        query = {k: v for k, v in data.items() if v is not None}
        if data.get("period") == "custom":
            from django.utils import timezone

            today = timezone.localdate()
            query.update(since=today - timedelta(days=3650), until=today)
        url = "/reports/?" + urlencode(query)
        for _ in range(max(3, rounds // 3)):
            t = time.perf_counter()
            response = client.get(url)
            times.setdefault("page", []).append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.status_code
        row = {k: p95(v) for k, v in times.items()}
        for key in ANSWERS:
            WALL[("pg", name, key)] = row[key]
        worst[name] = max(v for k, v in row.items() if k != "page")
        print(f"  {name:30}" + "".join(f"{row[k]:8.0f}" for k in (*ANSWERS, "page")))
    return worst


DUCK_TILES = """
SELECT count(*) FILTER (WHERE received_day BETWEEN $s AND $e) AS received,
       count(*) FILTER (WHERE closed AND closed_day BETWEEN $s AND $e) AS closed,
       count(*) FILTER (WHERE closed AND closed_day BETWEEN $s AND $e AND close_hours <= 120)
         AS on_time,
       count(*) FILTER (WHERE NOT closed) AS open,
       count(*) FILTER (WHERE NOT closed AND due_day BETWEEN $s AND $e AND due_day < current_date)
         AS past_due,
       quantile_cont(CASE WHEN closed THEN close_hours
                     ELSE (current_date - received_day) * 24 END, 0.5)
         FILTER (WHERE received_day BETWEEN $s AND $e) AS median,
       quantile_cont(CASE WHEN closed THEN close_hours
                     ELSE (current_date - received_day) * 24 END, 0.9)
         FILTER (WHERE received_day BETWEEN $s AND $e) AS p90,
       quantile_cont(response_hours, 0.5) FILTER (WHERE received_day BETWEEN $s AND $e)
         AS response
FROM facts WHERE {where}
"""
DUCK_GROUP = """
SELECT {key}, count(*) FILTER (WHERE received_day BETWEEN $s AND $e),
       count(*) FILTER (WHERE closed AND closed_day BETWEEN $s AND $e)
FROM facts WHERE {where} GROUP BY 1
"""


def time_duckdb(rounds: int, folder: Path, town: City) -> dict[str, float] | None:
    try:
        import duckdb
    except ImportError:
        print("\nDuckDB over Parquet: duckdb is not installed, so no comparison was run.")
        return None
    from django.utils import timezone

    from city311.reports import queries

    parquet = folder / "facts.parquet"
    started = time.perf_counter()
    db = duckdb.connect()
    # The same requests as PostgreSQL's totals counted, made by the same generator.
    ids = f"(SELECT range AS id FROM range(1, {town.requests + 1})) AS g"
    db.execute(f"COPY ({town.facts(ids)}) TO '{parquet}' (FORMAT parquet)")
    db.execute(f"CREATE VIEW facts AS SELECT * FROM read_parquet('{parquet}')")
    print(f"\nDuckDB {duckdb.__version__} over Parquet ({parquet.stat().st_size / 1e6:.0f} MB, "
          f"written in {time.perf_counter() - started:.0f} s), p95 ms:")  # fmt: skip
    print(f"  {'filter':30}" + "".join(f"{h:>8}" for h in ANSWERS))
    worst = {}
    today = timezone.localdate()
    for name, data in filters():
        if data.get("period") == "custom":
            data = {**data, "since": today - timedelta(days=3650), "until": today}
        cut = queries.cut_for(None, data)
        start, end = queries.period_for(data, today)
        where = ["true"]
        if cut.type_ids is not None:
            where.append(f"type_id IN ({', '.join(map(str, cut.type_ids))})")
        if cut.channel:
            where.append(f"channel = '{cut.channel}'")
        if cut.area_kind:
            where.append(f"{cut.area_kind} = '{cut.area_code}'")
        w = " AND ".join(where)
        grain = "day" if (end - start).days <= 45 else "month"
        sqls = {
            "tiles": DUCK_TILES.format(where=w),
            "chart": DUCK_GROUP.format(key=f"date_trunc('{grain}', received_day)", where=w),
            "channels": DUCK_GROUP.format(key="channel", where=w),
            "types": DUCK_GROUP.format(key="type_id", where=w),
            "map": DUCK_GROUP.format(key="council_district", where=w),
        }
        row = {}
        for key, sql in sqls.items():
            samples = []
            db.execute(sql, {"s": start, "e": end}).fetchall()
            for _ in range(rounds):
                run = partial(db.execute, sql, {"s": start, "e": end})
                wall, cpu = timed(lambda run=run: run().fetchall(), None)
                samples.append(wall)
                CPU.setdefault(("duckdb", name, key), []).append(cpu)
            row[key] = p95(samples)
            WALL[("duckdb", name, key)] = row[key]
        worst[name] = max(row.values())
        print(f"  {name:30}" + "".join(f"{row[k]:8.0f}" for k in ANSWERS))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2_000_000)
    parser.add_argument(
        "--days", type=int, default=3650, help="History spread over this many days."
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--reuse", action="store_true", help="Keep the totals already counted (same --requests)."
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="Connections counting months side by side."
    )
    parser.add_argument(
        "--only", default="", help="Time only the filters whose name contains this (e.g. 'ten')."
    )
    parser.add_argument(
        "--check", action="store_true", help="Compare with the product's own counting, and stop."
    )
    parser.add_argument("--no-duckdb", action="store_true", help="Skip the DuckDB comparison.")
    args = parser.parse_args()
    if not args.reuse:  # with --reuse the totals are there: only DuckDB's Parquet is new
        check_disk(args.requests)
    setup()
    town = city(args.requests, args.days)
    if not args.reuse:
        fill(town, args.workers)
    if args.check:
        check(town)
        return
    global ONLY
    ONLY = args.only
    pg = time_postgres(args.rounds)
    duck = None
    if not args.no_duckdb:
        with tempfile.TemporaryDirectory() as folder:
            duck = time_duckdb(args.rounds, Path(folder), town)
    slowest = max(pg.values())
    verdict = "meets" if slowest < TARGET_MS else "misses"
    print(f"\nslowest PostgreSQL answer p95: {slowest:.0f} ms over {args.requests:,} requests")
    print(f"({verdict} the {TARGET_MS:.0f} ms goal)")
    if duck:
        for name in pg:
            ratio = pg[name] / max(duck[name], 0.01)
            print(f"  {name:30} PostgreSQL {pg[name]:6.0f} ms, DuckDB {duck[name]:6.0f} ms "
                  f"(PostgreSQL/DuckDB {ratio:.2f})")  # fmt: skip
    print(f"median of the PostgreSQL worst answers: {statistics.median(pg.values()):.0f} ms")
    side_by_side()


def side_by_side() -> None:
    """Each answer of each filter: PostgreSQL's wall and CPU p95 (CPU: this process and the
    database backend), DuckDB's beside it (CPU: every DuckDB thread)."""
    print("\nEach answer, p95 ms: PostgreSQL wall / CPU | DuckDB over Parquet wall / CPU")
    names = list(dict.fromkeys(name for _, name, _ in WALL))
    for name in names:
        cells = []
        for key in ANSWERS:
            pg = f"{WALL.get(('pg', name, key), 0):.0f}/{p95(CPU.get(('pg', name, key), [])):.0f}"
            duck = ("duckdb", name, key)
            other = f"{WALL[duck]:.0f}/{p95(CPU.get(duck, [])):.0f}" if duck in WALL else "-"
            cells.append(f"{key} {pg} | {other}")
        print(f"  {name:28} " + "; ".join(cells))


if __name__ == "__main__":
    main()
