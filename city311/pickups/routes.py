"""Which routes collect at which address: worked out in bulk, read by one indexed query."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from django.db import transaction
from shapely.geometry import shape

from city311.geo.boundaries import areas_at
from city311.geo.models import AddressPoint, Boundary
from city311.pickups.models import AddressRoute, Route

_BATCH = 20_000


def remap(progress: Callable[[int], object] | None = None) -> int:
    """Work out again, for every address point, the routes whose areas hold it. Run after
    addresses or routes change (import_city and remap_pickups do). Returns the rows written."""
    areas = {(b.kind, b.code): shape(b.geometry) for b in Boundary.objects.all()}
    for area in areas.values():
        shapely.prepare(area)
    routes = [(r.pk, areas.get((r.area_kind, r.area_code))) for r in Route.objects.all()]
    written = 0
    with transaction.atomic():
        AddressRoute.objects.all().delete()
        if not routes:
            return 0
        last = 0
        while True:
            rows = list(
                AddressPoint.objects.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", "lat", "long")[:_BATCH]
            )
            if not rows:
                break
            last = rows[-1][0]
            pks = np.array([r[0] for r in rows])
            lats = np.array([r[1] for r in rows])
            longs = np.array([r[2] for r in rows])
            batch: list[AddressRoute] = []
            for route_pk, area in routes:
                if area is None:
                    continue
                inside = shapely.intersects_xy(area, longs, lats)
                batch.extend(
                    AddressRoute(address_id=int(pk), route_id=route_pk) for pk in pks[inside]
                )
            AddressRoute.objects.bulk_create(batch, batch_size=5000)
            written += len(batch)
            if progress:
                progress(len(rows))
    return written


def routes_at(*, address_pk: int | None = None, lat: float, long: float) -> list[Route]:
    """The routes that collect at an address point (mapped ahead) or any point (its areas)."""
    if address_pk is not None:
        mapped = list(
            Route.objects.filter(
                pk__in=AddressRoute.objects.filter(address_id=address_pk).values("route_id")
            )
        )
        if mapped:
            return mapped
    # A pin, or an address imported after the last remap: the areas themselves answer.
    keys = [(a.kind, a.code) for a in areas_at(lat, long)]
    if not keys:
        return []
    candidates = Route.objects.filter(area_code__in=[code for _kind, code in keys])
    return [r for r in candidates if (r.area_kind, r.area_code) in keys]
