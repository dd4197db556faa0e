"""Is it already reported: open requests of the same kind near the same point."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from django.db import connection
from django.utils import timezone

from city311.catalog.models import ServiceType
from city311.lib.distance import degrees_around, metres
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.vocabulary import Status


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
    near = _near(service_type, lat, long, now=now, exclude_pk=exclude_pk)[:limit]
    requests = ServiceRequest.objects.select_related("service_type").in_bulk(
        [pk for pk, _, _ in near]
    )
    return [(requests[pk], d) for pk, d, _ in near if pk in requests]


def nearest_duplicate_id(service_type: ServiceType, lat: float, long: float) -> int | None:
    """The id of the nearest open request of this kind within its radius: one query."""
    near = _near(service_type, lat, long)
    return near[0][0] if near else None


def _near(
    service_type: ServiceType,
    lat: float,
    long: float,
    *,
    now: datetime | None = None,
    exclude_pk: int | None = None,
) -> list[tuple[int, float, datetime]]:
    """(id, metres, requested_at) of the open requests in range: nearest first, then newest."""
    radius = service_type.duplicate_radius_m
    if radius <= 0:
        return []
    now = now or timezone.now()
    # .all(), not values_list(): a type from the catalog cache has its related types at hand.
    type_ids = [service_type.pk, *(t.pk for t in service_type.related_types.all())]
    dlat, dlong = degrees_around(lat, radius)
    # Positions only (cheap rows); whole requests are read only for the few offered. Written
    # as SQL: on every filing's path, where the ORM took longer to build this query than the
    # database took to answer it. Its WHERE matches the partial index sr_unclosed_type_place.
    with connection.cursor() as cursor:
        cursor.execute(
            _near_sql(len(type_ids)),
            [
                *type_ids,
                lat - dlat,
                lat + dlat,
                long - dlong,
                long + dlong,
                now - timedelta(days=service_type.duplicate_window_days),
            ],
        )
        nearby = cursor.fetchall()
    near = []
    for pk, other_lat, other_long, requested_at in nearby:
        if pk == exclude_pk or other_lat is None or other_long is None:
            continue
        d = metres(lat, long, other_lat, other_long)
        if d <= radius:
            near.append((pk, d, requested_at))
    # Requests within a few metres of each other count as equally near.
    near.sort(key=lambda row: (round(row[1] / 5), -row[2].timestamp()))
    return near


@cache
def _near_sql(type_count: int) -> str:
    q = connection.ops.quote_name
    types = ", ".join(["%s"] * type_count)
    return (
        f"SELECT {q('id')}, {q('lat')}, {q('long')}, {q('requested_at')} "
        f"FROM {q(ServiceRequest._meta.db_table)} "
        f"WHERE NOT ({q('status')} = '{Status.CLOSED.value}') "
        f"AND {q('service_type_id')} IN ({types}) "
        f"AND {q('lat')} BETWEEN %s AND %s AND {q('long')} BETWEEN %s AND %s "
        f"AND {q('requested_at')} >= %s LIMIT 500"
    )
