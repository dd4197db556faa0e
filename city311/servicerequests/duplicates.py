"""Is it already reported: open requests of the same kind near the same point."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.utils import timezone

from city311.catalog.models import ServiceType
from city311.servicerequests.models import ServiceRequest

EARTH_RADIUS_M = 6_371_000
METRES_PER_DEGREE = 111_320


def distance_m(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(long2 - long1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def find_duplicates(
    service_type: ServiceType,
    lat: float,
    long: float,
    *,
    now: datetime | None = None,
    limit: int = 5,
    exclude_pk: int | None = None,
) -> list[tuple[ServiceRequest, float]]:
    """Unclosed requests of this type (or a related one) within the type's radius and window.

    Nearest first, then newest. Served by the partial index sr_unclosed_type_place.
    """
    radius = service_type.duplicate_radius_m
    if radius <= 0:
        return []
    now = now or timezone.now()
    type_ids = [service_type.pk, *service_type.related_types.values_list("pk", flat=True)]
    dlat = radius / METRES_PER_DEGREE
    dlong = radius / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    nearby = (
        ServiceRequest.objects.unclosed()
        .filter(
            service_type_id__in=type_ids,
            lat__range=(lat - dlat, lat + dlat),
            long__range=(long - dlong, long + dlong),
            requested_at__gte=now - timedelta(days=service_type.duplicate_window_days),
        )
        .select_related("service_type")
        .order_by("-requested_at")[:200]
    )
    found = []
    for sr in nearby:
        if sr.pk == exclude_pk or sr.lat is None or sr.long is None:
            continue
        d = distance_m(lat, long, sr.lat, sr.long)
        if d <= radius:
            found.append((sr, d))
    # Nearest first; requests within a few metres of each other count as equally near.
    found.sort(key=lambda pair: (round(pair[1] / 5), -pair[0].requested_at.timestamp()))
    return found[:limit]
