"""Boundaries: replacing them, and which areas contain a point."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.db import transaction
from shapely.geometry import mapping, shape

from city311.catalog import cache as catalog_cache
from city311.geo.datasets import VersionedCache, bump_version
from city311.geo.models import Boundary, BoundaryKind
from city311.lib.distance import METRES_PER_DEG_LONG_EQUATOR

Geometry = dict[str, Any]
# Called in the transaction of every replace_boundaries with the kind and the areas whose
# polygon changed, {code: geometry, or None where there was none}, before and after. What apps
# above geo worked out from areas ahead of time (pickups: which route collects at each
# address) is worked out again here; geo cannot import them.
AREAS_CHANGED: list[
    Callable[[str, dict[str, Geometry | None], dict[str, Geometry | None]], object]
] = []


def replace_boundaries(
    kind: str, features: Iterable[tuple[str, str, dict[str, Any], dict[str, Any]]], *, source: str
) -> int:
    """Replace every boundary of `kind` with (code, name, geometry, properties) rows, atomically."""
    rows = []
    for code, name, geometry, properties in features:
        geom = shape(geometry)
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        min_long, min_lat, max_long, max_lat = geom.bounds
        rows.append(
            Boundary(
                kind=kind,
                code=code,
                name=name,
                geometry=mapping(geom),
                properties=properties,
                min_long=min_long,
                min_lat=min_lat,
                max_long=max_long,
                max_lat=max_lat,
                source=source,
            )
        )
    with transaction.atomic():
        # Routing rules point at areas by kind and code; keep their rows, update in place.
        existing = {b.code: b for b in Boundary.objects.filter(kind=kind)}
        before_rows = {code: b.geometry for code, b in existing.items()}
        keep = []
        for row in rows:
            old = existing.pop(row.code, None)
            if old is not None:
                row.pk = old.pk
                keep.append(row)
        Boundary.objects.bulk_update(
            keep,
            [
                "name",
                "geometry",
                "properties",
                "min_long",
                "min_lat",
                "max_long",
                "max_lat",
                "source",
            ],
            batch_size=100,
        )
        Boundary.objects.bulk_create([r for r in rows if r.pk is None], batch_size=100)
        Boundary.objects.filter(pk__in=[b.pk for b in existing.values()]).delete()
        before, after = _changed(before_rows, rows)
        if before or after:
            for hook in AREAS_CHANGED:
                hook(kind, before, after)
        bump_version("boundaries", source=source, rows=len(rows))
        # Routing rules name areas, and each process routes by rules kept with its catalog
        # snapshot (servicerequests.routing): a new set of areas retires those snapshots.
        catalog_cache.bump()
    return len(rows)


def _changed(
    before: dict[str, Geometry], rows: list[Boundary]
) -> tuple[dict[str, Geometry | None], dict[str, Geometry | None]]:
    """The areas whose polygon is new, gone or different: before and after."""
    # As stored: JSON has lists where shapely's mapping has tuples.
    now = {row.code: json.loads(json.dumps(row.geometry)) for row in rows}
    codes = {c for c in before.keys() | now.keys() if before.get(c) != now.get(c)}
    return {c: before.get(c) for c in codes}, {c: now.get(c) for c in codes}


def union_as_city_limits(kind: str, *, name: str, source: str) -> None:
    """Make the city limits the union of every boundary of `kind` (e.g. the boroughs)."""
    parts = [shape(b.geometry) for b in Boundary.objects.filter(kind=kind)]
    city = shapely.union_all(parts)
    replace_boundaries(BoundaryKind.CITY_LIMITS, [("city", name, mapping(city), {})], source=source)


@dataclass(frozen=True)
class Area:
    kind: str
    code: str
    name: str
    pk: int


class AreaIndex:
    """Every boundary in an STRtree of prepared polygons: point lookups in microseconds.

    GEOS prepared geometries build their point locators lazily, and two threads doing so at
    once corrupt memory (a gunicorn worker's threads crashed it on their first lookups). So
    the index shares only plain geometries, which are read-only, and each thread prepares its
    own copies and tree on its first lookup (a few milliseconds, once per thread per version).
    """

    def __init__(self, areas: list[Area], geometries: list[Any]) -> None:
        self.areas = areas
        self.wkb = shapely.to_wkb(np.array(geometries, dtype=object))
        self.has_city_limits = any(a.kind == BoundaryKind.CITY_LIMITS for a in areas)
        self._local = threading.local()
        # The building thread's own copies, made now so a broken geometry fails the build.
        self._prepared()

    @classmethod
    def load(cls) -> AreaIndex:
        areas, geometries = [], []
        for b in Boundary.objects.all().iterator():
            areas.append(Area(b.kind, b.code, b.name, b.pk))
            geometries.append(shape(b.geometry))
        return cls(areas, geometries)

    def _prepared(self) -> tuple[Any, Any]:
        """This thread's prepared polygons and tree."""
        mine = getattr(self._local, "prepared", None)
        if mine is None:
            geometries = shapely.from_wkb(self.wkb)
            shapely.prepare(geometries)
            mine = self._local.prepared = (geometries, shapely.STRtree(geometries))
        return mine

    def at(self, lat: float, long: float) -> list[Area]:
        # The tree narrows to the areas whose boxes hold the point; the prepared polygons then
        # answer in one vectorised call (a border counts as inside).
        geometries, tree = self._prepared()
        hits = tree.query(shapely.Point(long, lat))
        if len(hits):
            hits = hits[shapely.intersects_xy(geometries[hits], long, lat)]
        return [self.areas[i] for i in sorted(hits)]

    def near(self, kind: str, lat: float, long: float, metres: float) -> bool:
        """Whether the point lies within about `metres` of an area of `kind` (inside counts)."""
        geometries, _tree = self._prepared()
        degrees = metres / (METRES_PER_DEG_LONG_EQUATOR * max(math.cos(math.radians(lat)), 0.1))
        point = shapely.Point(long, lat)
        return any(
            area.kind == kind and shapely.dwithin(geometries[i], point, degrees)
            for i, area in enumerate(self.areas)
        )

    def outlines_within(
        self, west: float, south: float, east: float, north: float
    ) -> list[tuple[Area, Any]]:
        """Each area's outline, cut to the box, for areas whose outline crosses it: the
        lines, never the box's own edges."""
        geometries, tree = self._prepared()
        found = []
        for i in sorted(tree.query(shapely.box(west, south, east, north))):
            lines = shapely.clip_by_rect(shapely.boundary(geometries[i]), west, south, east, north)
            if not lines.is_empty:
                found.append((self.areas[i], lines))
        return found


_index: VersionedCache[AreaIndex] = VersionedCache(("boundaries",), AreaIndex.load)


def area_index() -> AreaIndex:
    return _index.get()


def areas_at(lat: float, long: float) -> list[Area]:
    """Every area that contains the point (on a border counts as inside)."""
    return area_index().at(lat, long)
