"""The city's areas as SVG paths, for the reports' choropleth: drawn on the server from the
boundaries the city imported, so the map needs no tiles, no script and no network."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db.models import Max

from city311.geo.models import Boundary

WIDTH = 600.0


@dataclass(frozen=True)
class Frame:
    """How the drawing places a point: longitude squeezed by the cosine of the middle
    latitude (so an area keeps its shape), scaled to WIDTH."""

    west: float
    north: float
    squeeze: float
    scale: float
    height: float

    def xy(self, long: float, lat: float) -> tuple[float, float]:
        return (long - self.west) * self.squeeze * self.scale, (self.north - lat) * self.scale


def frame_around(west: float, south: float, east: float, north: float) -> Frame:
    squeeze = math.cos(math.radians((south + north) / 2))
    scale = WIDTH / max((east - west) * squeeze, 1e-9)
    return Frame(west, north, squeeze, scale, round((north - south) * scale, 1))


def shapes(kind: str) -> tuple[dict[str, str], float]:
    """{code: SVG path} of every area of `kind`, and the drawing's height (width WIDTH)."""
    paths, frame = drawn(kind)
    return paths, frame.height if frame else 0.0


def drawn(kind: str) -> tuple[dict[str, str], Frame | None]:
    """{code: SVG path} of every area of `kind`, and the frame they are drawn in (None when
    the kind has no areas)."""
    stamp = Boundary.objects.filter(kind=kind).aggregate(at=Max("imported_at"))["at"]
    return _shapes(kind, str(stamp))


@lru_cache(maxsize=16)
def _shapes(kind: str, stamp: str) -> tuple[dict[str, str], Frame | None]:
    # `stamp` (the newest import of the kind) keys the cache: a new import draws anew.
    areas = list(Boundary.objects.filter(kind=kind).values_list("code", "geometry"))
    rings = {code: list(_rings(geometry)) for code, geometry in areas}
    points = [p for code_rings in rings.values() for ring in code_rings for p in ring]
    if not points:
        return {}, None
    frame = frame_around(
        min(p[0] for p in points),
        min(p[1] for p in points),
        max(p[0] for p in points),
        max(p[1] for p in points),
    )
    paths = {}
    for code, code_rings in rings.items():
        parts = []
        for ring in code_rings:
            drawn = _thin([frame.xy(p[0], p[1]) for p in ring])
            if len(drawn) >= 3:
                parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in drawn) + "Z")
        paths[code] = "".join(parts)
    return paths, frame


def _rings(geometry: dict[str, Any]) -> Any:
    kind = geometry.get("type")
    if kind == "Polygon":
        yield from geometry["coordinates"]
    elif kind == "MultiPolygon":
        for polygon in geometry["coordinates"]:
            yield from polygon


def _thin(points: list[tuple[float, float]], step: float = 0.8) -> list[tuple[float, float]]:
    """Drop points closer than `step` pixels to the last one kept: the same drawing, smaller."""
    kept = points[:1]
    for x, y in points[1:]:
        if abs(x - kept[-1][0]) + abs(y - kept[-1][1]) >= step:
            kept.append((x, y))
    return kept


# Five classes of on-time %, light to dark; areas with too few requests are drawn hatched.
CLASSES = [(0, "#fde0dd"), (50, "#fa9fb5"), (70, "#c994c7"), (85, "#8856a7"), (95, "#54278f")]


def fill(percent: float | None) -> str:
    if percent is None:
        return "url(#too-few)"
    colour = CLASSES[0][1]
    for low, value in CLASSES:
        if percent >= low:
            colour = value
    return colour
