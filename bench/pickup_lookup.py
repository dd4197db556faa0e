"""How fast "when is my pickup?" answers: GET /api/pickups?address_id=... over many addresses.

    .venv/bin/python bench/pickup_lookup.py [--addresses 200000] [--lookups 2000] [--reuse]
                                            [--page] [--profile N]

Builds --addresses address points over a 20-route grid (each route collects trash twice a
week, recycling every other week and bulky items weekly, under Los Angeles' rest-of-week
holiday rule), maps every address to its route the way an import does (`routes.remap`, timed),
then asks the JSON API (and with --page the portal's page) through Django's full request path
for --lookups random addresses and prints the queries a lookup makes and p50, p95 and p99 of
wall time and of this thread's CPU time (on a loaded machine the wall waits for a core; the
CPU does not). --profile N prints the N costliest calls. The goal: p99 < 20 ms over
1,000,000 addresses.

Runs under a temporary CITY311_DATA_DIR (SQLite), or on DATABASE_URL if set (it must be a
database you can wipe: the benchmark migrates and fills it).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CITY311_DATA_DIR", tempfile.mkdtemp(prefix="city311-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "city311.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from city311.geo.models import AddressPoint, Boundary  # noqa: E402
from city311.pickups import routes  # noqa: E402
from city311.pickups.models import (  # noqa: E402
    Collection,
    HolidayRule,
    Route,
    RouteSchedule,
    Slide,
)

WEST, SOUTH, EAST, NORTH = -118.6, 33.7, -118.1, 34.3
COLUMNS, ROWS = 5, 4
DAYS = ["MO", "TU", "WE", "TH", "FR"]


def grid() -> None:
    HolidayRule.objects.create(
        slide=Slide.REST_OF_WEEK,
        holidays="New Year's Day\nMemorial Day\nIndependence Day\nLabor Day\nThanksgiving\n"
        "Christmas Day",
    )
    trash = Collection.objects.create(code="trash", name="Trash")
    recycling = Collection.objects.create(code="recycling", name="Recycling", order=1)
    bulky = Collection.objects.create(code="bulky", name="Bulky items", order=2)
    width, height = (EAST - WEST) / COLUMNS, (NORTH - SOUTH) / ROWS
    for i in range(COLUMNS * ROWS):
        west, south = WEST + (i % COLUMNS) * width, SOUTH + (i // COLUMNS) * height
        ring = [
            [west, south],
            [west + width, south],
            [west + width, south + height],
            [west, south + height],
            [west, south],
        ]
        Boundary.objects.create(
            kind="service_zone",
            code=f"R{i}",
            name=f"Route {i}",
            geometry={"type": "Polygon", "coordinates": [ring]},
            min_long=west,
            min_lat=south,
            max_long=west + width,
            max_lat=south + height,
        )
        route = Route.objects.create(
            code=f"r{i}", name=f"Route {i}", area_kind="service_zone", area_code=f"R{i}"
        )
        day = DAYS[i % 5]
        RouteSchedule.objects.bulk_create(
            [
                RouteSchedule(
                    route=route,
                    collection=trash,
                    rule=f"FREQ=WEEKLY;BYDAY={day},{DAYS[(i + 3) % 5]}",
                    starts=date(2026, 1, 5),
                ),
                RouteSchedule(
                    route=route,
                    collection=recycling,
                    rule=f"FREQ=WEEKLY;INTERVAL=2;BYDAY={day}",
                    starts=date(2026, 1, 5),
                ),
                RouteSchedule(
                    route=route,
                    collection=bulky,
                    rule=f"FREQ=WEEKLY;BYDAY={day}",
                    starts=date(2026, 1, 5),
                ),
            ]
        )


def addresses(count: int, rng: random.Random) -> None:
    batch: list[AddressPoint] = []
    for n in range(count):
        batch.append(
            AddressPoint(
                source_id=f"a{n}",
                number=str(100 + n % 9000),
                street=f"STREET {n // 9000}",
                street_key=f"STREET {n // 9000}",
                lat=rng.uniform(SOUTH + 1e-4, NORTH - 1e-4),
                long=rng.uniform(WEST + 1e-4, EAST - 1e-4),
            )
        )
        if len(batch) == 20_000:
            AddressPoint.objects.bulk_create(batch)
            batch = []
    AddressPoint.objects.bulk_create(batch)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def build(count: int, rng: random.Random) -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    grid()
    addresses(count, rng)
    print(
        f"database: {connection.vendor}; {count:,} addresses built in "
        f"{time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    mapped = routes.remap()
    print(
        f"remap (address -> route, as an import does): {mapped:,} rows in "
        f"{time.perf_counter() - started:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--addresses", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    # Building and mapping 1,000,000 addresses takes ~12 minutes on a busy machine: --reuse
    # times the lookups again on the database an earlier run built (same --addresses).
    parser.add_argument("--reuse", action="store_true")
    # The portal's page too (its template), not only the JSON API.
    parser.add_argument("--page", action="store_true")
    # Print the N costliest calls of the timed lookups (cProfile, cumulative).
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    rng = random.Random(311)
    if args.reuse and AddressPoint.objects.count() == args.addresses:
        print(f"database: {connection.vendor}; {args.addresses:,} addresses of an earlier run")
    else:
        build(args.addresses, rng)
    if args.page:
        # The page's static files by name, as in the tests: the hashed names need a
        # collectstatic into this temporary folder first.
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    client = Client()
    for path in ("/api/pickups", *(["/pickups/"] if args.page else [])):
        measure(client, path, args, rng)


def measure(client: Client, path: str, args: argparse.Namespace, rng: random.Random) -> None:
    """Time --lookups GETs of `path` for random addresses: wall and this thread's CPU each."""
    # Warm: the first request loads the catalog, the city profile and the holidays.
    client.get(path, {"address_id": "a0"})
    with CaptureQueriesContext(connection) as queries:
        client.get(path, {"address_id": "a1"})
    # Counted now: the next request's start empties the connection's query log.
    queried = len(queries.captured_queries)
    walls, cpus = [], []
    profile = cProfile.Profile() if args.profile else None
    for _ in range(args.lookups):
        address_id = f"a{rng.randrange(args.addresses)}"
        started, cpu = time.perf_counter(), time.thread_time()
        if profile:
            profile.enable()
        r = client.get(path, {"address_id": address_id})
        if profile:
            profile.disable()
        cpus.append((time.thread_time() - cpu) * 1000)
        walls.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.content
        if path.startswith("/api/"):
            assert len(r.json()["collections"]) == 3, r.content
    print(
        f"GET {path}?address_id=, {args.lookups:,} random addresses of {args.addresses:,}; "
        f"{queried} queries a lookup; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    # On a shared machine the wall times wait for the CPU; the CPU times do not. This thread's
    # CPU holds Django, the engine and, on SQLite, the database; PostgreSQL's is its own.
    for name, samples in (("wall", walls), ("CPU ", cpus)):
        print(
            f"  {name}  p50 {statistics.median(samples):.1f} ms, "
            f"p95 {percentile(samples, 0.95):.1f} ms, p99 {percentile(samples, 0.99):.1f} ms, "
            f"max {max(samples):.1f} ms"
        )
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
