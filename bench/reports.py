"""The managers' dashboard on a large city: every answer's p95, on PostgreSQL, beside DuckDB
scanning the same requests exported as Parquet.

Goal (issue 20): each tile and chart of the dashboard, for any one filter (type, district,
channel, period), answers in p95 < 500 ms over 30,000,000 requests, and no slower than DuckDB
over Parquet. 30 M does not fit in a few minutes of this 2-core machine: `--requests` sets the
size (default 2,000,000); the figures say what was run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_reports \\
        .venv/bin/python bench/reports.py --requests 2000000

What it does:
1. Checks the free disk space (30 M requests and their rollups need about 45 GB) and says so.
2. Migrates the database, loads the demo catalog and New York's districts.
3. Generates `--requests` request facts in SQL (a type, department, channel, urgency, three
   districts, received over ten years, closed or open, on time or late, first response), then
   counts them into the day totals (reports.models.DayTotal) with one INSERT ... SELECT that
   does what reports.rollup.contributions does per request. The real path (the stream
   consumer and `rebuild_reports`) is timed separately on real requests with `--real`.
4. Times every answer of the dashboard (reports.queries: tiles with the previous period,
   chart by day/month, channels, types, the map by council district) for each filter, and
   the whole page through Django's test client.
5. With duckdb installed: exports the facts as Parquet and times the same answers there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/city311_bench_reports"
TARGET_MS = 500.0
ANSWERS = ("tiles", "chart", "channels", "types", "map")
BYTES_PER_REQUEST = 2200  # facts, totals and their indexes: 11 GB for 5,000,000 (measured)
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
    need = requests * BYTES_PER_REQUEST
    print(f"disk: {free / 1e9:.0f} GB free; {requests:,} requests need about {need / 1e9:.1f} GB")
    if need > free:
        sys.exit("Not enough free disk space for this size: choose a smaller --requests.")


GENERATE = """
DROP TABLE IF EXISTS bench_fact;
CREATE UNLOGGED TABLE bench_fact AS
WITH raw AS (
  SELECT g AS id,
         1 + floor(random() * %(types)s)::int AS t,
         (ARRAY['web','phone','mobile_app','email','open311','walk_in'])
           [1 + floor(random() * 6)::int] AS channel,
         random() < 0.05 AS urgent,
         1 + floor(random() * %(boroughs)s)::int AS b,
         1 + floor(random() * %(councils)s)::int AS c,
         1 + floor(random() * %(communities)s)::int AS cd,
         current_date - floor(random() * %(days)s)::int AS received_day,
         random() AS r1, random() AS r2, random() AS r3
  FROM generate_series(1, %(requests)s) g
)
SELECT id, (%(type_ids)s::int[])[t] AS type_id, (%(type_depts)s::int[])[t] AS department_id,
       0 AS team_id,
       channel, urgent,
       (%(borough_codes)s::text[])[b] AS borough,
       (%(council_codes)s::text[])[c] AS council_district,
       (%(community_codes)s::text[])[cd] AS community_district,
       received_day,
       (received_day < current_date - 30 AND r1 < 0.97) OR r1 < 0.6 AS closed,
       exp(r2 * 8) AS close_hours,
       exp(r3 * 5) AS response_hours,
       received_day + 5 AS due_day
FROM raw;
"""

BOUNDS = "ARRAY[1,4,8,24,48,72,120,168,336,720,2160]::float8[]"

ROLLUP = """
INSERT INTO reports_daytotal (day, type_id, department_id, team_id, channel, urgent, area_kind,
  area_code, received, closed, closed_target, closed_on_time, closed_reopened, closed_seconds,
  open_now, open_due, responded, {close_cols}, {response_cols})
WITH c AS (
  SELECT received_day AS day, f.*, 1 AS received, 0 AS closed_n, 0 AS on_time,
         (NOT closed)::int AS open_now, 0 AS open_due, 1 AS responded,
         CASE WHEN closed THEN width_bucket(close_hours, {bounds}) ELSE -1 END AS cb,
         width_bucket(response_hours, {bounds}) AS rb, 0::float8 AS seconds
  FROM bench_fact f
  UNION ALL
  SELECT received_day + (close_hours / 24)::int, f.*, 0, 1, (close_hours <= 120)::int, 0, 0,
         0, -1, -1, close_hours * 3600
  FROM bench_fact f WHERE closed
  UNION ALL
  SELECT due_day, f.*, 0, 0, 0, 0, 1, 0, -1, -1, 0 FROM bench_fact f WHERE NOT closed
)
SELECT day, type_id, department_id, team_id, channel, urgent, p.kind, p.code,
       sum(received), sum(closed_n), sum(closed_n), sum(on_time), 0, sum(seconds),
       sum(open_now), sum(open_due), sum(responded), {close_sums}, {response_sums}
FROM c CROSS JOIN LATERAL (VALUES ('', ''), ('borough', borough),
  ('council_district', council_district), ('community_district', community_district)) p(kind, code)
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""


def generate(requests: int, days: int) -> None:
    from django.db import connection

    from city311.catalog.models import ServiceType
    from city311.geo.models import Boundary

    types = list(
        ServiceType.objects.exclude(urgency="emergency")
        .exclude(department=None)
        .values_list("pk", "department_id")
    )
    codes = {
        kind: list(Boundary.objects.filter(kind=kind).values_list("code", flat=True))
        for kind in ("borough", "council_district", "community_district")
    }
    params = {
        "requests": requests,
        "days": days,
        "types": len(types),
        "type_ids": [t for t, _ in types],
        "type_depts": [d for _, d in types],
        "boroughs": len(codes["borough"]),
        "councils": len(codes["council_district"]),
        "communities": len(codes["community_district"]),
        "borough_codes": codes["borough"],
        "council_codes": codes["council_district"],
        "community_codes": codes["community_district"],
    }
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.311)")
        cursor.execute(GENERATE, params)
    print(f"facts: {requests:,} generated in {time.perf_counter() - started:.0f} s")


def count_totals() -> None:
    """The day and month totals and the month summaries of the generated facts."""
    from django.db import connection

    from city311.reports import rollup
    from city311.reports.models import (
        CLOSE_COLUMNS,
        COUNTERS,
        RESPONSE_COLUMNS,
        DayTotal,
        MonthSummary,
        MonthTotal,
    )

    started = time.perf_counter()
    n = len(CLOSE_COLUMNS)
    sql = ROLLUP.format(
        bounds=BOUNDS,
        close_cols=", ".join(CLOSE_COLUMNS),
        response_cols=", ".join(RESPONSE_COLUMNS),
        close_sums=", ".join(f"sum((cb = {i + 1})::int)" for i in range(n)),
        response_sums=", ".join(f"sum((rb = {i + 1})::int)" for i in range(n)),
    )
    DayTotal.objects.all().delete()
    MonthTotal.objects.all().delete()
    MonthSummary.objects.all().delete()
    columns = ", ".join(f.column for f in DayTotal._meta.concrete_fields if f.column != "id")
    grouped = ", ".join(f"sum({c})" for c in COUNTERS)
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute(sql)
        # The month totals: the same counts by the month's first day (reports.rollup.write).
        cursor.execute(
            f"INSERT INTO reports_monthtotal ({columns}) SELECT "
            f"date_trunc('month', day)::date, type_id, department_id, team_id, channel, urgent, "
            f"area_kind, area_code, {grouped} FROM reports_daytotal GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
        )
    rollup.summarise_months()
    with connection.cursor() as cursor:
        # As autovacuum does in a running city: the visibility map lets the backlog's covering
        # index answer without the table.
        cursor.execute("VACUUM ANALYZE reports_daytotal")
        cursor.execute("VACUUM ANALYZE reports_monthtotal")
        cursor.execute("VACUUM ANALYZE reports_monthsummary")
    rows, months = DayTotal.objects.count(), MonthTotal.objects.count()
    summaries = MonthSummary.objects.count()
    print(f"totals: {rows:,} day rows, {months:,} month rows, {summaries:,} month summary "
          f"rows, counted in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip


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


def time_duckdb(rounds: int, folder: Path) -> dict[str, float] | None:
    try:
        import duckdb
    except ImportError:
        print("\nDuckDB over Parquet: duckdb is not installed, so no comparison was run.")
        return None
    from django.db import connection
    from django.utils import timezone

    from city311.reports import queries

    csv_path, parquet = folder / "facts.csv", folder / "facts.parquet"
    started = time.perf_counter()
    with connection.cursor() as cursor, open(csv_path, "wb") as out:
        raw = cursor.connection  # psycopg 3: COPY streams the table out
        with raw.cursor().copy("COPY bench_fact TO STDOUT (FORMAT csv, HEADER)") as copy:
            for block in copy:
                out.write(block)
    db = duckdb.connect()
    db.execute(
        f"COPY (SELECT *, received_day + CAST(close_hours / 24 AS INTEGER) AS closed_day "
        f"FROM read_csv_auto('{csv_path}')) TO '{parquet}' (FORMAT parquet)"
    )
    csv_path.unlink()
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
    parser.add_argument("--reuse", action="store_true", help="Keep the facts already generated.")
    parser.add_argument(
        "--recount", action="store_true", help="With --reuse: count the totals again."
    )
    parser.add_argument(
        "--only", default="", help="Time only the filters whose name contains this (e.g. 'ten')."
    )
    parser.add_argument("--no-duckdb", action="store_true", help="Skip the DuckDB comparison.")
    args = parser.parse_args()
    check_disk(args.requests)
    setup()
    if not args.reuse:
        generate(args.requests, args.days)
    if not args.reuse or args.recount:
        count_totals()
    global ONLY
    ONLY = args.only
    pg = time_postgres(args.rounds)
    duck = None
    if not args.no_duckdb:
        with tempfile.TemporaryDirectory() as folder:
            duck = time_duckdb(args.rounds, Path(folder))
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
