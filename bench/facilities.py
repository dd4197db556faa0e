"""What "open now?" and the facility pages and feeds cost, on the demo city's 48 facilities.

    CITY311_DATA_DIR=/tmp/bench-facilities .venv/bin/python bench/facilities.py [--samples 50]

Migrates the database, loads the demo's facilities and events, then prints:
- the engine: microseconds per "open now?" (warm: each schedule compiled once per year window),
  the one-off cost of compiling one facility's two-year window through opening-hours-py, and
  the 15-minute slots of two years answered per second;
- the pages and feeds through Django's test client (no network): queries, p50 and p95 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CITY311_DATA_DIR", str(ROOT / "var" / "bench-facilities"))
os.environ["DJANGO_SETTINGS_MODULE"] = "city311.settings"

STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"
PAGES = [
    "/facilities/",
    "/facilities/?kind=pool",
    "/facilities/central-library-brooklyn/",
    "/events/",
    "/today/",
    "/today.json",
    "/events.ics",
    "/today.ics",
    "/today.rss",
    "/api/inquiry/v1/facilities/all.json",
    "/api/inquiry/v1/facilities/chelsea-recreation-center.json",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from city311.demo import loader
    from city311.facilities import hours, queries
    from city311.lib import openinghours as engine

    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": STATIC}}
    override_settings(STORAGES=storages, ALLOWED_HOSTS=["*"]).enable()
    call_command("migrate", verbosity=0)
    loader.load_pack("nyc", sections={"facilities", "events"})
    schedules = [hours.schedule_for(f) for f in queries.facilities()]

    engine._compiled.cache_clear()
    at = time.perf_counter()
    for s in schedules:
        engine.is_open(s, datetime(2027, 6, 1, 12))
    compile_ms = (time.perf_counter() - at) * 1000 / len(schedules)
    slots = [datetime(2027, 1, 1) + timedelta(minutes=15 * n) for n in range(4 * 24 * 365)]
    at = time.perf_counter()
    for s in schedules:
        for slot in slots:
            engine.is_open(s, slot)
    took = time.perf_counter() - at
    answers = len(schedules) * len(slots)
    print(f"facilities: {len(schedules)} ({connection.vendor})")
    print(f"compile one facility's window (opening-hours-py): {compile_ms:.2f} ms")
    print(f"open now?: {took / answers * 1e6:.2f} us each, {answers / took:,.0f} slots/s")

    print(f"{'page':<58} {'queries':>7} {'p50 ms':>7} {'p95 ms':>7}")
    client = Client()
    for page in PAGES:
        client.get(page)
        sql: list[str] = []

        def record(execute, statement, params, many, context, sql=sql):  # type: ignore[no-untyped-def]
            sql.append(statement)
            return execute(statement, params, many, context)

        with connection.execute_wrapper(record):
            client.get(page)
        times = []
        for _ in range(args.samples):
            started = time.perf_counter()
            response = client.get(page)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (page, response.status_code)
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"{page[:58]:<58} {len(sql):>7} {statistics.median(times):>7.2f} {p95:>7.2f}")


if __name__ == "__main__":
    main()
