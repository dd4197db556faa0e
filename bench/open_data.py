"""Open data at size: `import_nyc` rows/s, and each export format's rows/s and peak memory.

Goals (issue 20): every export >= 150,000 rows/s in < 300 MB; import >= 100,000 rows/s on
PostgreSQL. The issue's size is 30 M rows; this machine is shared, so `--rows` sets the size
(default 200,000) and the figures say what was run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_opendata \\
        .venv/bin/python bench/open_data.py --rows 200000

What it does:
1. Migrates the database, loads New York's catalog, calendar and districts, and empties the
   requests.
2. Writes `--rows` lines in NYC's 41-column layout, drawn from the real records shipped with
   the New York pack (their types, places, channels and notes), each with a new key and a
   time in the last two years, and times `city311 import_nyc` on it (staging, validation,
   inserts, history events, the rollups' catch-up; the last timed apart).
3. Runs `city311 export_open_data` once per format, each in a fresh process, and prints rows/s
   (the export's own time, not the process start) and the process's peak resident memory.
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
from pathlib import Path

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/city311_bench_opendata"
ROOT = Path(__file__).resolve().parent.parent
EXPORT_GOAL, IMPORT_GOAL, MEMORY_GOAL_MB = 150_000, 100_000, 300


def setup() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE)
    os.environ.setdefault("CITY311_DATA_DIR", str(Path.cwd() / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    sys.path[:0] = [str(ROOT)]
    import django

    django.setup()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_records(path: Path, rows: int) -> None:
    """`rows` lines shaped like the shipped 41-column records, with fresh keys and times."""
    from city311.reports import nyc

    source = ROOT / "city311/demo/cities/nyc/history/nyc311_pyboot_2022-05_41cols.csv.gz"
    with gzip.open(source, "rt", newline="") as f:
        reader = csv.DictReader(f)
        real = [r for r in reader if r["Latitude"]]
    rng = random.Random(311)
    now = datetime.now()
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(nyc.COLUMNS)
        for n in range(rows):
            row = dict(rng.choice(real))
            created = now - timedelta(seconds=rng.randint(3600, 730 * 86400))
            row["Unique Key"] = str(90_000_000 + n)
            row["Created Date"] = created.strftime("%m/%d/%Y %I:%M:%S %p")
            closed = created + timedelta(hours=rng.expovariate(1 / 96))
            if row["Closed Date"] and closed < now:
                row["Closed Date"] = closed.strftime("%m/%d/%Y %I:%M:%S %p")
                row["Resolution Action Updated Date"] = row["Closed Date"]
            else:
                row["Closed Date"] = row["Resolution Action Updated Date"] = ""
                row["Status"] = "Open"
            writer.writerow([row.get(c, "") for c in nyc.COLUMNS])


def export_one(code: str) -> None:
    """In a fresh process: one export to /dev/null, timed, with this process's peak memory."""
    setup()
    from city311.reports import opendata
    from city311.servicerequests.models import ServiceRequest

    rows = ServiceRequest.objects.count()
    before = peak_mb()
    started, cpu = time.perf_counter(), time.process_time()
    size = 0
    with open(os.devnull, "wb") as out:
        for chunk in opendata.export(code):
            out.write(chunk)
            size += len(chunk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{code} {rows} {seconds:.3f} {size} {before:.0f} {peak_mb():.0f} {cpu:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rollup-sample", type=int, default=10_000)
    parser.add_argument("--export-one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_one:
        export_one(args.export_one)
        return
    setup()
    from django.core.management import call_command
    from django.db import connection

    from city311.demo import loader
    from city311.reports import nycimport, opendata, rollup
    from city311.servicerequests.models import ServiceRequest

    call_command("migrate", verbosity=0)
    loader.load_pack("nyc", sections={"catalog", "calendar", "boundaries"})
    ServiceRequest.objects.all().delete()
    rollup.rebuild()
    print(f"database: {connection.vendor}, {args.rows:,} rows, {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "records.csv"
        write_records(path, args.rows)
        started, cpu = time.perf_counter(), time.process_time()
        steps: dict[str, float] = {}
        last = [started]

        def say(text: str) -> None:
            now = time.perf_counter()
            steps[text.split(" ")[0]] = now - last[0]
            last[0] = now

        result = nycimport.import_nyc(path, say=say, catch_up=False)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    loaded = result.imported
    print(
        f"\nimport_nyc (set-based load, rollups apart): {loaded:,} rows in {seconds:.1f} s = "
        f"{loaded / seconds:,.0f} rows/s (goal >= {IMPORT_GOAL:,} on PostgreSQL); rejected "
        f"{len(result.rejected)}; peak {peak_mb():.0f} MB; {cpu:.1f} CPU s in this process"
    )
    names = {"Staged": "stage", "Inserted": "check+insert", "Counting": "events+due"}
    print("  steps: " + ", ".join(f"{names.get(k, k)} {v:.1f} s" for k, v in steps.items()))
    sample = list(
        ServiceRequest.objects.order_by("pk").values_list("pk", flat=True)[: args.rollup_sample]
    )
    started = time.perf_counter()
    for start in range(0, len(sample), 5000):
        rollup.refresh(sample[start : start + 5000])
    seconds = time.perf_counter() - started
    print(
        f"  rollup catch-up (rollup.refresh, as import_nyc runs it): {len(sample):,} requests "
        f"in {seconds:.1f} s = {len(sample) / seconds:,.0f} requests/s"
    )
    goal = f"goal >= {EXPORT_GOAL:,} rows/s, < {MEMORY_GOAL_MB} MB"
    print(f"\n{'format':10} {'rows/s':>10} {'MB/s':>7} {'peak MB':>8} {'CPU s':>6}   {goal}")
    for code in opendata.FORMATS:
        done = subprocess.run(
            [sys.executable, __file__, "--export-one", code],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ,
        )
        name, rows, secs, size, _before, peak, cpu = done.stdout.split()[-7:]
        rate = int(rows) / float(secs)
        megabytes = int(size) / float(secs) / 1e6
        print(f"{name:10} {rate:>10,.0f} {megabytes:>7.1f} {peak:>8} {cpu:>6}")


if __name__ == "__main__":
    main()
