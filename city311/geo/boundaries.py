"""Loading boundaries and asking which areas contain a point."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import shapely
from django.db import transaction
from shapely.geometry import mapping, shape

from city311.geo.models import Boundary, BoundaryKind


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
        Boundary.objects.filter(kind=kind).delete()
        Boundary.objects.bulk_create(rows, batch_size=200)
    return len(rows)


def union_as_city_limits(kind: str, *, name: str, source: str) -> None:
    """Make the city limits the union of every boundary of `kind` (e.g. the boroughs)."""
    parts = [shape(b.geometry) for b in Boundary.objects.filter(kind=kind)]
    city = shapely.union_all(parts)
    replace_boundaries(BoundaryKind.CITY_LIMITS, [("city", name, mapping(city), {})], source=source)


def areas_at(lat: float, long: float) -> list[Boundary]:
    """Every boundary that contains the point."""
    point = shapely.Point(long, lat)
    candidates = Boundary.objects.filter(
        min_long__lte=long, max_long__gte=long, min_lat__lte=lat, max_lat__gte=lat
    )
    return [b for b in candidates if shape(b.geometry).covers(point)]
