"""Stored requests for benchmarks: bulk-inserted history, spread over a city, with areas.

Used by the benchmarks that need a large database (`fill_history`); not a test fixture.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from datetime import timedelta


def fill_history(
    count: int,
    *,
    types: Sequence,
    box: tuple[float, float, float, float] = (40.5, -74.25, 40.9, -73.7),
    closed_share: float = 0.85,
    seed: int = 311,
    batch_size: int = 10_000,
) -> int:
    """Insert requests until `count` are stored; returns how many were added.

    Each request gets a random type of `types`, a point in `box` (south, west, north, east), the
    areas it falls in (as `submit_request` records them), a status and a time in the last two
    years. No history events: a benchmark that needs them adds its own.
    """
    from django.utils import timezone

    from city311.geo.boundaries import area_index
    from city311.servicerequests.models import Channel, ServiceRequest, Status
    from city311.servicerequests.tracking import new_tracking_number

    have = ServiceRequest.objects.count()
    if have >= count:
        return 0
    rng = random.Random(seed + have)
    index = area_index()
    south, west, north, east = box
    now = timezone.now()
    numbers: set[str] = set(ServiceRequest.objects.values_list("tracking_number", flat=True))
    started = time.perf_counter()
    for start in range(have, count, batch_size):
        batch = []
        for _ in range(min(batch_size, count - start)):
            number = new_tracking_number()
            while number in numbers:
                number = new_tracking_number()
            numbers.add(number)
            service_type = rng.choice(types)
            lat = south + rng.random() * (north - south)
            long = west + rng.random() * (east - west)
            areas: dict[str, dict[str, str]] = {}
            for area in index.at(lat, long):
                areas.setdefault(area.kind, {"code": area.code, "name": area.name})
            requested = now - timedelta(seconds=rng.randint(0, 730 * 86400))
            closed = rng.random() < closed_share
            batch.append(
                ServiceRequest(
                    tracking_number=number,
                    service_type=service_type,
                    department=service_type.department,
                    status=Status.CLOSED if closed else Status.OPEN,
                    lat=lat,
                    long=long,
                    areas=areas,
                    address_string=f"{rng.randint(1, 300)} Example Street",
                    channel=Channel.IMPORT,
                    requested_at=requested,
                    updated_at=requested,
                    due_at=requested + timedelta(days=10),
                    closed_at=requested + timedelta(days=2) if closed else None,
                )
            )
        ServiceRequest.objects.bulk_create(batch)
        done = start + len(batch) - have
        rate = done / (time.perf_counter() - started)
        print(f"  history: {start + len(batch):,} of {count:,} ({rate:,.0f}/s)", end="\r")
    print()
    return count - have
