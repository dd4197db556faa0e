"""Point-to-areas and duplicate-lookup latency.

Point-to-areas runs on the demo city's 293 NYC boundaries. Duplicate lookup runs with --requests
stored requests (default 1,000,000), spread over the demo catalog and New York City; the rows are
inserted in bulk for speed (no history events), once per database, and reused by later runs.

    .venv/bin/python bench/areas_and_duplicates.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench \\
        .venv/bin/python bench/areas_and_duplicates.py
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()

    os.environ.setdefault("CITY311_DATA_DIR", str(Path.cwd() / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).parent)]
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from history import fill_history

    from city311.catalog.models import ServiceType
    from city311.demo import loader
    from city311.geo.boundaries import area_index
    from city311.geo.models import Boundary
    from city311.servicerequests.duplicates import find_duplicates
    from city311.servicerequests.models import ServiceRequest, Status

    call_command("migrate", verbosity=0)
    if not ServiceType.objects.exists():
        loader.load_catalog()
    if not Boundary.objects.exists():
        loader.load_boundaries()

    rng = random.Random(311)
    index = area_index()
    points = [(40.5 + rng.random() * 0.4, -74.25 + rng.random() * 0.55) for _ in range(20000)]
    index.at(*points[0])
    timings = []
    for lat, long in points:
        t0 = time.perf_counter()
        index.at(lat, long)
        timings.append(time.perf_counter() - t0)
    print(
        f"point-to-areas:   {len(index.areas)} areas, {len(points):,} random points in the NYC "
        f"box: p50 {percentile(timings, 0.5) * 1e6:.0f} µs, "
        f"p99 {percentile(timings, 0.99) * 1e6:.0f} µs"
    )

    types = list(ServiceType.objects.exclude(urgency="emergency").select_related("department"))
    if ServiceRequest.objects.count() < args.requests:
        print("inserting requests...", flush=True)
        fill_history(args.requests, types=types)
    stored = ServiceRequest.objects.count()
    open_count = ServiceRequest.objects.exclude(status=Status.CLOSED).count()

    # Half the lookups at random points, half beside existing open requests (real matches).
    beside = list(
        ServiceRequest.objects.exclude(status=Status.CLOSED)
        .filter(lat__isnull=False, long__isnull=False)
        .order_by("?")
        .values_list("service_type_id", "lat", "long")[: args.lookups // 2]
    )
    by_id = {t.pk: t for t in types}
    lookups = []
    found = 0
    for i in range(args.lookups):
        if i % 2 and beside:
            type_id, lat, long = beside.pop()
            service_type, lat, long = by_id[type_id], lat + 0.0001, long
        else:
            service_type = rng.choice(types)
            lat, long = 40.5 + rng.random() * 0.4, -74.25 + rng.random() * 0.55
        t0 = time.perf_counter()
        found += len(find_duplicates(service_type, lat, long))
        lookups.append(time.perf_counter() - t0)
    print(
        f"duplicate lookup: {connection.vendor}, {stored:,} requests stored ({open_count:,} "
        f"open), {args.lookups:,} lookups: p50 {percentile(lookups, 0.5) * 1000:.2f} ms, "
        f"p99 {percentile(lookups, 0.99) * 1000:.2f} ms ({found} candidates found)"
    )


if __name__ == "__main__":
    main()
