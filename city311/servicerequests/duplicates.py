"""Is it already reported: open requests of the same kind near the same point."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from city311.catalog.models import ServiceType
from city311.lib.distance import degrees_around, metres
from city311.servicerequests.models import ServiceRequest


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
    dlat, dlong = degrees_around(lat, radius)
    # Positions first (cheap rows), whole requests only for the few that are near enough.
    nearby = (
        ServiceRequest.objects.unclosed()
        .filter(
            service_type_id__in=type_ids,
            lat__range=(lat - dlat, lat + dlat),
            long__range=(long - dlong, long + dlong),
            requested_at__gte=now - timedelta(days=service_type.duplicate_window_days),
        )
        .values_list("pk", "lat", "long", "requested_at")[:500]
    )
    near = []
    for pk, other_lat, other_long, requested_at in nearby:
        if pk == exclude_pk or other_lat is None or other_long is None:
            continue
        d = metres(lat, long, other_lat, other_long)
        if d <= radius:
            near.append((pk, d, requested_at))
    # Nearest first; requests within a few metres of each other count as equally near.
    near.sort(key=lambda row: (round(row[1] / 5), -row[2].timestamp()))
    near = near[:limit]
    requests = ServiceRequest.objects.select_related("service_type").in_bulk(
        [pk for pk, _, _ in near]
    )
    return [(requests[pk], d) for pk, d, _ in near if pk in requests]
