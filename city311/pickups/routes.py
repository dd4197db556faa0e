"""Which routes collect at which address: worked out in bulk, read by one indexed query."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from django.db import connection, transaction
from shapely.geometry import shape

from city311.geo.boundaries import Geometry, areas_at
from city311.geo.models import AddressPoint, Boundary
from city311.pickups.models import AddressRoute, Route

_BATCH = 20_000
# Small enough for SQLite's limit on a query's parameters (the ids deleted at once).
_SMALL = 5_000


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
    _analyze()
    return written


def _analyze() -> None:
    """Give PostgreSQL the new tables' statistics now. Freshly written and not yet analyzed,
    the lookup's join of an address and its routes was planned as a hash join over every
    mapping row: 300-550 ms a lookup at 1,000,000 addresses, 0.2 ms once analyzed
    (bench/pickup_lookup.py, EXPLAIN ANALYZE); autovacuum gets to it minutes later, or never
    on a busy machine. SQLite's plan does not depend on statistics."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (AddressPoint, AddressRoute):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def remap_areas(
    kind: str, before: dict[str, Geometry | None], after: dict[str, Geometry | None]
) -> int:
    """Areas of `kind` changed (geo.boundaries.AREAS_CHANGED, in the import's transaction):
    the addresses inside an old or a new polygon of a route's area are mapped again, those
    outside stay as they are. Returns the rows written."""
    routes = list(Route.objects.filter(area_kind=kind, area_code__in=before.keys() | after.keys()))
    polygons = [shape(g) for g in (*before.values(), *after.values()) if g is not None]
    if not routes or not polygons:
        return 0
    reach = shapely.union_all(polygons)
    shapely.prepare(reach)
    areas = [(r.pk, shape(after[r.area_code])) for r in routes if after.get(r.area_code)]
    for _pk, area in areas:
        shapely.prepare(area)
    min_long, min_lat, max_long, max_lat = reach.bounds
    near = AddressPoint.objects.filter(
        lat__gte=min_lat, lat__lte=max_lat, long__gte=min_long, long__lte=max_long
    )
    written, last = 0, 0
    while True:
        rows = list(
            near.filter(pk__gt=last).order_by("pk").values_list("pk", "lat", "long")[:_SMALL]
        )
        if not rows:
            return written
        last = rows[-1][0]
        pks, lats, longs = (np.array(column) for column in zip(*rows, strict=True))
        inside = shapely.intersects_xy(reach, longs, lats)
        pks, lats, longs = pks[inside], lats[inside], longs[inside]
        AddressRoute.objects.filter(
            route_id__in=[r.pk for r in routes], address_id__in=[int(pk) for pk in pks]
        ).delete()
        batch = [
            AddressRoute(address_id=int(pk), route_id=route_pk)
            for route_pk, area in areas
            for pk in pks[shapely.intersects_xy(area, longs, lats)]
        ]
        AddressRoute.objects.bulk_create(batch, batch_size=5000)
        written += len(batch)


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
