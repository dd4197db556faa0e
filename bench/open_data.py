"""Open data at size: `import_nyc` rows/s, and each export format's rows/s and peak memory.

Goals (issue 20): every export >= 150,000 rows/s in < 300 MB; import >= 100,000 rows/s on
PostgreSQL. The issue's size is 30 M rows; this machine is shared, so `--rows` sets the size
(default 200,000) and the figures say what was run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_opendata \\
        .venv/bin/python bench/open_data.py --rows 200000
    # then the exports and the heat map again on the same requests:
    ... bench/open_data.py --reuse --formats geojson,parquet --rounds 10

What it does:
1. Migrates the database, loads New York's catalog, calendar and districts, and empties the
   requests.
2. Writes `--rows` lines in NYC's 41-column layout, drawn from the real records shipped with
   the New York pack (their types, places, channels and notes), each with a new key and a
   time in the last two years, and times `city311 import_nyc` on it (staging, validation,
   inserts, history events, the rollups' catch-up; the last timed apart), with each step's
   time and, on PostgreSQL, the floors: the file COPY'd alone, the requests inserted into a
   bare copy of their table, that copy's indexes built. `--indexes keep|rebuild|auto` is the
   command's own option (auto: the bulk path into the emptied table).
3. Runs `city311 export_open_data` once per format, each in a fresh process, and prints rows/s
   (the export's own time, not the process start) and the process's peak resident memory.
4. Times the heat map of a type (`/reports/heat/`, reports.heat) over these requests: the
   busiest type and a one-borough cut, its grid counted from the heat cells, by a scan of the
   requests, and by that scan over a covering index, alternated, and the whole page, p95 of
   `--rounds` (the open data's requests are real-shaped and have points, which the dashboard
   benchmark's generated facts have not). The rollups are rebuilt first when the heat cells
   are not counted. `--reuse` keeps the requests of an earlier run.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/city311_bench_opendata"
ROOT = Path(__file__).resolve().parent.parent
EXPORT_GOAL, IMPORT_GOAL, MEMORY_GOAL_MB = 150_000, 100_000, 300


def setup() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE)
    os.environ.setdefault("CITY311_DATA_DIR", str(Path.cwd() / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]
    import django

    django.setup()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_records(path: Path, rows: int, first_key: int = 90_000_000) -> None:
    """`rows` lines shaped like the shipped 41-column records, with fresh keys (from
    `first_key`) and times."""
    from city311.reports import nyc

    source = ROOT / "city311/demo/cities/nyc/history/nyc311_pyboot_2022-05_41cols.csv.gz"
    with gzip.open(source, "rt", newline="") as f:
        reader = csv.DictReader(f)
        real = [r for r in reader if r["Latitude"]]
    rng = random.Random(first_key)
    now = datetime.now()
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(nyc.COLUMNS)
        for n in range(rows):
            row = dict(rng.choice(real))
            created = now - timedelta(seconds=rng.randint(3600, 730 * 86400))
            row["Unique Key"] = str(first_key + n)
            row["Created Date"] = created.strftime("%m/%d/%Y %I:%M:%S %p")
            closed = created + timedelta(hours=rng.expovariate(1 / 96))
            if row["Closed Date"] and closed < now:
                row["Closed Date"] = closed.strftime("%m/%d/%Y %I:%M:%S %p")
                row["Resolution Action Updated Date"] = row["Closed Date"]
            else:
                row["Closed Date"] = row["Resolution Action Updated Date"] = ""
                row["Status"] = "Open"
            writer.writerow([row.get(c, "") for c in nyc.COLUMNS])


def export_one(code: str, live: bool) -> None:
    """In a fresh process: one export to /dev/null, timed, with this process's peak memory:
    formatted as read (`live`, the path before the lines) or from the lines kept ready."""
    setup()
    from city311.reports import opendata, openlines
    from city311.servicerequests.models import ServiceRequest

    rows = ServiceRequest.objects.count()
    if code == "parquet":
        # Loaded before the clock starts, as in a server process that served one already
        # (about 0.2 CPU-s and 0.6 s at load 8 on this machine: a third of 100,000 rows' time).
        import pyarrow.csv
        import pyarrow.parquet  # noqa: F401
    if not live and not openlines.ready():
        raise SystemExit("The open data's lines are not ready: run rebuild_reports.")
    before = peak_mb()
    started, cpu, db_cpu = time.perf_counter(), time.process_time(), database_cpu()
    size = 0
    with open(os.devnull, "wb") as out:
        for chunk in opendata.export(code, ready=not live):
            out.write(chunk)
            size += len(chunk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    db_cpu = database_cpu() - db_cpu if db_cpu >= 0 else 0.0
    print(f"{code} {rows} {seconds:.3f} {size} {before:.0f} {peak_mb():.0f} {cpu:.2f} {db_cpu:.2f}")


def time_heat(rounds: int) -> None:
    """The heat map over the requests loaded, for the busiest type over every day and in one
    borough: three ways of counting its grid, alternated round by round in one run, p50 / p95
    wall ms and p95 CPU ms (this process and its PostgreSQL backend):
    - cells: reports.heat.cells, whole months from the heat cells (models.HeatCell), the edge
      days from the requests (what the page does);
    - scan: reports.heat.counted, the whole period from the requests (what it did before);
    - covering: the same scan with an index that holds the type, time and point (created in a
      transaction and rolled back each round, PostgreSQL only);
    and the whole page. The heat cells are rebuilt first when they are not counted."""
    import statistics
    from datetime import date

    from django.db import connection, transaction
    from django.db.models import Count
    from pages import manager_client

    from city311.geo.models import Boundary
    from city311.reports import heat, queries, rollup
    from city311.reports.models import HeatCell, RequestFact
    from city311.servicerequests.models import ServiceRequest

    grid = heat.current_grid()
    # The import's catch-up was timed on a sample only: count the rest (once) as a city would.
    behind = RequestFact.objects.count() < ServiceRequest.objects.count()
    if behind or heat.counted_grid() != grid:
        started, cpu, db_cpu = time.perf_counter(), time.process_time(), database_cpu()
        done = rollup.rebuild()
        print(f"\nrebuild_reports (facts, totals, heat cells): {done:,} requests in "
              f"{time.perf_counter() - started:.0f} s, CPU {time.process_time() - cpu:.0f} s "
              f"+ database {database_cpu() - db_cpu:.0f} s")  # fmt: skip
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE reports_heatcell")
                cursor.execute(f"VACUUM ANALYZE {ServiceRequest._meta.db_table}")
    client = manager_client()
    busiest = (
        ServiceRequest.objects.values("service_type__service_code")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    if busiest is None:
        print("heat map: no requests")
        return
    code = busiest["service_type__service_code"]
    first = ServiceRequest.objects.order_by("requested_at").first()
    since = first.requested_at.date() if first else date.today()
    until = date.today()
    district = Boundary.objects.filter(kind="borough").order_by("code").first()
    cases = [("type", {"type": code})]
    if district is not None:
        cases.append(("type + borough", {"type": code, "area": f"borough:{district.code}"}))
    postgres = connection.vendor == "postgresql"
    covering = (
        f"CREATE INDEX bench_heat_covering ON {ServiceRequest._meta.db_table} "
        "(service_type_id, requested_at) INCLUDE (lat, long, areas) WHERE lat IS NOT NULL "
        "AND long IS NOT NULL"
    )
    cells = HeatCell.objects.count()
    print(f"\nheat map of {code} ({busiest['n']:,} requests), {since} to {until}; "
          f"{cells:,} heat cell rows; load {os.getloadavg()[0]:.1f}; "
          f"p50 / p95 wall, p95 CPU, of {rounds} rounds, ms")  # fmt: skip

    def timed(answer: Any) -> tuple[float, float]:
        cpu, db_cpu, t = time.process_time(), database_cpu(), time.perf_counter()
        answer()
        wall = (time.perf_counter() - t) * 1000
        used = time.process_time() - cpu + (database_cpu() - db_cpu if postgres else 0.0)
        return wall, used * 1000

    def p95(v: list[float]) -> float:
        return sorted(v)[max(0, -(-95 * len(v) // 100) - 1)]

    for name, data in cases:
        cut = queries.cut_for(None, data)
        query = {**data, "period": "custom", "since": str(since), "until": str(until)}
        times: dict[str, list[tuple[float, float]]] = {}
        answers = {
            "cells": partial(heat.cells, cut, since, until, grid),
            "scan": partial(heat.counted, cut, since, until, grid),
            "page": partial(client.get, "/reports/heat/", query),
        }
        same = sorted((c.row, c.column, c.n) for c in answers["cells"]())
        assert same == sorted((c.row, c.column, c.n) for c in answers["scan"]()), "differ"
        for n in range(rounds + 1):
            for key, answer in answers.items():
                found = timed(answer)
                if n:  # the first warms the caches, as a page in use is
                    times.setdefault(key, []).append(found)
            if postgres:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute(covering)
                        cursor.execute(f"ANALYZE {ServiceRequest._meta.db_table}")
                    found = timed(answers["scan"])
                    transaction.set_rollback(True)
                if n:
                    times.setdefault("covering", []).append(found)
        figures = "; ".join(
            f"{k} {statistics.median(w for w, _ in v):.0f} / {p95([w for w, _ in v]):.0f} "
            f"(CPU {p95([c for _, c in v]):.0f})"
            for k, v in times.items()
        )
        print(f"  {name:16} {len(same):,} squares; {figures}")


def database_cpu() -> float:
    """CPU seconds this connection's PostgreSQL backend has used (a server on this machine),
    or -1 when it cannot be read: the machine is shared, and CPU time is what load leaves be."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return -1.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def empty_requests() -> None:
    """No requests, and nothing that points at one: TRUNCATE on PostgreSQL (the ORM's delete
    gathers every related row in memory first, minutes and gigabytes at a million)."""
    from django.db import connection

    from city311.servicerequests.models import ServiceRequest

    if connection.vendor != "postgresql":
        ServiceRequest.objects.all().delete()
        return
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {ServiceRequest._meta.db_table} CASCADE")


def floor_figures(path: Path, application: str) -> dict[str, tuple[float, float]]:
    """What the import cannot go below on this server, for the requests just imported (those
    of `application`, not the ones stored before): the file COPY'd as it is into a table of
    41 text columns (no Python per line), the requests inserted into a bare copy of their
    table (no index, no key), and the requests' indexes built on that copy. All rolled
    back."""
    import re

    from django.db import connection, transaction

    from city311.reports import nyc
    from city311.servicerequests.models import ServiceRequest

    table = ServiceRequest._meta.db_table
    found: dict[str, tuple[float, float]] = {}

    def timed(name: str, run: Any) -> None:
        started, cpu = time.perf_counter(), database_cpu()
        run()
        found[name] = (time.perf_counter() - started, database_cpu() - cpu)

    with transaction.atomic(), connection.cursor() as cursor:
        columns = ", ".join(f"c{i} text" for i in range(len(nyc.COLUMNS)))
        cursor.execute(f"CREATE TEMPORARY TABLE bench_file ({columns})")

        def copy_file() -> None:
            with (
                path.open("rb") as f,
                cursor.cursor.copy("COPY bench_file FROM STDIN (FORMAT csv, HEADER)") as copy,
            ):
                while data := f.read(1 << 20):
                    copy.write(data)

        timed("COPY of the file alone (41 text columns)", copy_file)
        cursor.execute(f"CREATE TEMPORARY TABLE bench_bare (LIKE {table} INCLUDING DEFAULTS)")
        timed(
            "INSERT of the requests into their bare table",
            lambda: cursor.execute(
                f"INSERT INTO bench_bare SELECT * FROM {table} WHERE application = %s",
                [application],
            ),
        )
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexdef NOT LIKE %s",
            [table, "%UNIQUE%"],
        )
        definitions = [
            re.sub(r"^CREATE INDEX \S+ ON \S+", "CREATE INDEX ON bench_bare", d)
            for (d,) in cursor.fetchall()
        ]

        def build() -> None:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            # One process, so the backend's CPU is all of it (no parallel build workers).
            cursor.execute("SET LOCAL max_parallel_maintenance_workers = 0")
            for definition in definitions:
                cursor.execute(definition)

        timed(f"its {len(definitions)} secondary indexes built on it", build)
        transaction.set_rollback(True)
    return found


def fill(stored: int, folder: Path) -> None:
    """Requests stored before the timed import, up to `stored`: files of the same shape (other
    keys) loaded by `import_nyc` 100,000 at a time, the rollups and lines as it leaves them."""
    from city311.reports import nycimport
    from city311.servicerequests.models import ServiceRequest

    have = ServiceRequest.objects.count()
    part = 0
    while have < stored:
        part += 1
        path = folder / f"stored-{have}.csv"
        write_records(path, min(100_000, stored - have), first_key=50_000_000 + have)
        started = time.perf_counter()
        nycimport.import_nyc(path, catch_up=False)
        path.unlink()
        have = ServiceRequest.objects.count()
        print(f"  stored {have:,} requests ({time.perf_counter() - started:.0f} s for this part)",
              flush=True)  # fmt: skip
    if connection_vendor() == "postgresql":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {ServiceRequest._meta.db_table}")


def connection_vendor() -> str:
    from django.db import connection

    return connection.vendor


def import_records(rows: int, rollup_sample: int, indexes: str, stored: int) -> None:
    """Empty the requests (or fill them up to `stored`), write `rows` records and time
    `import_nyc` on them, each step's wall time and CPU (this process's and its PostgreSQL
    backend's)."""
    from django.db import connection

    from city311.demo import loader
    from city311.reports import nycimport, rollup
    from city311.servicerequests.models import ServiceRequest

    loader.load_pack("nyc", sections={"catalog", "calendar", "boundaries"})
    if not stored:
        empty_requests()
        rollup.rebuild()
    with tempfile.TemporaryDirectory() as folder:
        if stored:
            fill(stored, Path(folder))
        held = ServiceRequest.objects.count()
        print(f"database: {connection.vendor}, {rows:,} rows into {held:,} stored requests, "
              f"{os.cpu_count()} CPUs")  # fmt: skip
        path = Path(folder) / "records.csv"
        write_records(path, rows)
        started, cpu, db_cpu = time.perf_counter(), time.process_time(), database_cpu()
        steps: dict[str, tuple[float, float, float]] = {}
        last = [started, cpu, db_cpu]

        def say(text: str) -> None:
            now, here, there = time.perf_counter(), time.process_time(), database_cpu()
            steps[text.split(" ")[0]] = (now - last[0], here - last[1], there - last[2])
            last[:] = [now, here, there]

        result = nycimport.import_nyc(path, say=say, catch_up=False, indexes=indexes)
        # The transaction's end is in import_nyc: its deferred checks ran at the commit.
        say("commit")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        db_cpu = database_cpu() - db_cpu if db_cpu >= 0 else -1.0
        if connection.vendor == "postgresql":
            floors = floor_figures(path, result.application)
    loaded = result.imported
    print(
        f"\nimport_nyc (set-based load, rollups apart): {loaded:,} rows in {seconds:.1f} s = "
        f"{loaded / seconds:,.0f} rows/s (goal >= {IMPORT_GOAL:,} on PostgreSQL); rejected "
        f"{len(result.rejected)}; peak {peak_mb():.0f} MB; load {os.getloadavg()[0]:.1f}"
    )
    if db_cpu < 0:
        print(
            f"  CPU: {cpu:.1f} s (the database's included) = {loaded / cpu:,.0f} rows per "
            "CPU-second"
        )
    else:
        print(
            f"  CPU: {cpu:.1f} s in this process + {db_cpu:.1f} s in its PostgreSQL backend = "
            f"{loaded / (cpu + db_cpu):,.0f} rows per CPU-second (what a quiet machine's "
            "rows/s would be with one core each; WAL writer and checkpoints not counted)"
        )
    names = {
        "Staged": "stage (engines' set-up, read + COPY)",
        "Checked": "engines + type + check + numbers",
        "Inserted": "insert requests",
        "Wrote": "events + due dates",
        "Built": "indexes + foreign keys built",
        "Counted": "ANALYZE",
        "Rendered": "open-data lines",
        "commit": "commit (deferred key checks)",
    }
    print("  steps (wall s / CPU s here / CPU s in PostgreSQL):")
    for key, (wall, here, there) in steps.items():
        print(f"    {names.get(key, key):40} {wall:7.2f} / {here:5.2f} / {there:5.2f}")
    if connection.vendor == "postgresql":
        print("  floors (the same rows, nothing else asked; s wall / s backend CPU):")
        for name, (wall, cpu_s) in floors.items():
            print(f"    {name:58} {wall:6.2f} / {cpu_s:5.2f}")
    sample = list(
        ServiceRequest.objects.order_by("pk").values_list("pk", flat=True)[:rollup_sample]
    )
    started = time.perf_counter()
    for start in range(0, len(sample), nycimport.CATCH_UP):
        rollup.refresh(sample[start : start + nycimport.CATCH_UP])
    seconds = time.perf_counter() - started
    print(
        f"  rollup catch-up (rollup.refresh, as import_nyc runs it): {len(sample):,} requests "
        f"in {seconds:.1f} s = {len(sample) / seconds:,.0f} requests/s"
    )


def time_lines(rebuild: bool) -> None:
    """The write side of the lines: a whole rebuild (`--rebuild-lines`, or when they are not
    ready), and what the stream's consumer costs per wake-up: the lines of 1, 26 (a burst of
    filings read together) and 500 requests rendered, as `handle_events` renders them."""
    from django.db import transaction

    from city311.reports import openlines
    from city311.servicerequests.models import ServiceRequest

    if rebuild or not openlines.ready():
        started, cpu, db_cpu = time.perf_counter(), time.process_time(), database_cpu()
        done = openlines.rebuild()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        db_cpu = database_cpu() - db_cpu if db_cpu >= 0 else -1.0
        print(
            f"\nlines rebuilt (openlines.rebuild, set-based): {done:,} requests in {seconds:.1f} s"
            f" = {done / seconds:,.0f}/s; CPU {cpu:.1f} s here + {db_cpu:.1f} s in PostgreSQL;"
            f" load {os.getloadavg()[0]:.1f}"
        )
    ids = list(ServiceRequest.objects.order_by("-pk").values_list("pk", flat=True)[:2000])
    print("consumer's render per wake-up (ms per call, ms per request; median of 5):")
    for size in (1, 26, 500):
        times, cpus, db_cpus = [], [], []
        for n in range(5):
            batch = ids[n * size : (n + 1) * size] if size * 5 <= len(ids) else ids[:size]
            started, cpu, db_cpu = time.perf_counter(), time.process_time(), database_cpu()
            with transaction.atomic():
                openlines.render(batch)
            times.append((time.perf_counter() - started) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            db_cpus.append((database_cpu() - db_cpu) * 1000)
        wall, here, there = sorted(times)[2], sorted(cpus)[2], sorted(db_cpus)[2]
        print(
            f"  {size:>4} requests: {wall:7.1f} ms ({wall / size:6.2f} ms/request),"
            f" CPU {here:5.1f} ms here + {there:5.1f} ms in PostgreSQL"
            f" (clock ticks of 10 ms); load {os.getloadavg()[0]:.1f}"
        )


def compare_paths(codes: list[str]) -> None:
    """Whether each file from the lines is the one formatted as read: the same bytes (Parquet:
    the same table; its bytes hold the writer's version)."""
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    from city311.reports import opendata

    for code in codes:
        files = []
        for ready in (False, True):
            if code == "parquet":
                body = b"".join(opendata.export(code, ready=ready))
                files.append(pq.read_table(pa.BufferReader(body)))
            else:
                digest = hashlib.sha256()
                for chunk in opendata.export(code, ready=ready):
                    digest.update(chunk)
                files.append(digest.hexdigest())
        same = files[0].equals(files[1]) if code == "parquet" else files[0] == files[1]
        print(f"  {code:10} lines and as read: {'the same' if same else 'DIFFERENT'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rollup-sample", type=int, default=10_000)
    parser.add_argument(
        "--stored",
        type=int,
        default=0,
        help="Keep the stored requests and fill them up to this many first (0: empty them).",
    )
    parser.add_argument(
        "--indexes", default="auto", help="import_nyc's --indexes: auto, rebuild or keep."
    )
    parser.add_argument("--export-one", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5, help="Heat map rounds.")
    parser.add_argument(
        "--reuse", action="store_true", help="Keep the requests of an earlier run: no import."
    )
    parser.add_argument("--formats", default="", help="Export only these (comma-separated).")
    parser.add_argument("--no-heat", action="store_true", help="Skip the heat map.")
    parser.add_argument("--live", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--compare", action="store_true", help="Check the lines give the files formatted as read."
    )
    parser.add_argument(
        "--rebuild-lines", action="store_true", help="Time a rebuild of the open data's lines."
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="Skip the exports formatted as read (the path before the lines).",
    )
    args = parser.parse_args()
    if args.export_one:
        export_one(args.export_one, args.live)
        return
    setup()
    from django.core.management import call_command
    from django.db import connection

    from city311.reports import opendata
    from city311.servicerequests.models import ServiceRequest

    call_command("migrate", verbosity=0)
    if not args.reuse:
        import_records(args.rows, args.rollup_sample, args.indexes, args.stored)
    print(f"database: {connection.vendor}, {ServiceRequest.objects.count():,} requests, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    if connection.vendor == "postgresql":
        time_lines(args.rebuild_lines)
    goal = f"goal >= {EXPORT_GOAL:,} rows/s, < {MEMORY_GOAL_MB} MB"
    print(
        f"\n{'format':10} {'path':9} {'rows/s':>10} {'MB/s':>7} {'peak MB':>8} {'CPU s':>6} "
        f"{'DB CPU s':>8} {'rows/CPU-s':>10} {'load':>5}   {goal}"
    )
    # Each format formatted as read (before) and from the lines (after), one after the other,
    # each in a fresh process: the machine's load moves both alike.
    paths: list[tuple[str, list[str]]] = [("as read", ["--live"])]  # SQLite: Python's writers
    if connection.vendor == "postgresql":
        paths = [("lines", [])] if args.no_baseline else [*paths, ("lines", [])]
    for code in args.formats.split(",") if args.formats else opendata.FORMATS:
        for path, flags in paths:
            done = subprocess.run(
                [sys.executable, __file__, "--export-one", code, *flags],
                capture_output=True,
                text=True,
                check=True,
                env=os.environ,
            )
            name, rows, secs, size, _before, peak, cpu, db_cpu = done.stdout.split()[-8:]
            rate = int(rows) / float(secs)
            megabytes = int(size) / float(secs) / 1e6
            # The backend's own CPU (a parallel query's workers are not counted).
            per_cpu = int(rows) / max(float(cpu) + max(float(db_cpu), 0), 0.01)
            print(
                f"{name:10} {path:9} {rate:>10,.0f} {megabytes:>7.1f} {peak:>8} {cpu:>6} "
                f"{db_cpu:>8} {per_cpu:>10,.0f} {os.getloadavg()[0]:>5.1f}"
            )
    if args.compare and connection.vendor == "postgresql":
        print("\nthe two paths' files:")
        compare_paths(args.formats.split(",") if args.formats else list(opendata.FORMATS))
    if not args.no_heat:
        time_heat(args.rounds)


if __name__ == "__main__":
    main()
