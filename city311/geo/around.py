"""What a resident recognises around a place, for a map with no tile server: the city's own
address points and street names, its named places and the lines of its areas.

All of it comes from the geography the city imported, so a map drawn from it needs no internet
and carries no personal data. The portal's maps draw it as their base when CITY311_MAP_TILES is
not set (city311/static/portal/basemap.js).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from django.core.cache import cache
from shapely.geometry import mapping

from city311.geo import geocoding
from city311.geo.boundaries import AreaIndex, area_index
from city311.geo.datasets import current_versions
from city311.geo.models import BoundaryKind
from city311.lib.distance import METRES_PER_DEG_LAT, METRES_PER_DEG_LONG_EQUATOR

# Boxes are widened to this grid, so a map nudged a little asks for (and caches) the same box.
GRID_DEG = 0.0025
# At most this much a side (about 3 km north-south): a street-level view, not a borough.
MAX_SPAN_DEG = 0.03
# Beyond this many address points in a box only the streets are sent: too many to read anyway.
MAX_ADDRESSES = 3000
# A street is drawn through the middle of its addresses every STEP metres, and broken where two
# of those middles are further apart than GAP (the same name on two separate stretches).
STREET_STEP_M = 60.0
STREET_GAP_M = 250.0
CACHE_SECONDS = 24 * 3600
# Working areas (pickup routes) mean nothing to a resident looking for a place.
NOT_SHOWN = {BoundaryKind.PICKUP_ROUTE}


class BoxProblem(ValueError):
    """The box cannot be drawn; the message says how to ask for one that can."""


@dataclass(frozen=True)
class Box:
    west: float
    south: float
    east: float
    north: float

    @classmethod
    def snapped(cls, west: float, south: float, east: float, north: float) -> Box:
        """The box widened to the grid; BoxProblem when it is not a small box on the earth."""
        values = (west, south, east, north)
        if not all(math.isfinite(v) for v in values):
            raise BoxProblem("Give bbox as west,south,east,north in degrees.")
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise BoxProblem(
                "Give bbox as west,south,east,north in degrees, west below east and south "
                "below north."
            )
        if east - west > MAX_SPAN_DEG or north - south > MAX_SPAN_DEG:
            raise BoxProblem(
                f"The box is too large: at most {MAX_SPAN_DEG} degrees a side. Zoom in."
            )
        return cls(_down(west), _down(south), _up(east), _up(north))

    def key(self) -> str:
        return f"{self.west:.4f},{self.south:.4f},{self.east:.4f},{self.north:.4f}"


def _down(value: float) -> float:
    return round(math.floor(value / GRID_DEG) * GRID_DEG, 6)


def _up(value: float) -> float:
    return round(math.ceil(value / GRID_DEG) * GRID_DEG, 6)


def around(box: Box) -> str:
    """The box's address points, streets, places and area lines as GeoJSON text, cached until
    the city imports new geography."""
    versions = current_versions(("addresses", "places", "boundaries"))
    stamp = hashlib.sha1(repr(versions).encode()).hexdigest()[:16]
    key = f"geo-around:{stamp}:{box.key()}"
    text = cache.get(key)
    if text is None:
        features = collection(box, geocoding.get_index(), area_index())
        text = json.dumps(features, separators=(",", ":"))
        cache.set(key, text, CACHE_SECONDS)
    return str(text)


def collection(box: Box, index: geocoding.AddressIndex, areas: AreaIndex) -> dict[str, Any]:
    """What `around` sends, from the given indexes."""
    rows = index.rows_within(box.west, box.south, box.east, box.north)
    capped = len(rows) > MAX_ADDRESSES
    features = [
        *_boundaries(box, areas),
        *_streets(index, rows),
        *([] if capped else _addresses(index, rows)),
        *_places(index, box),
    ]
    middle_lat, middle_long = (box.south + box.north) / 2, (box.west + box.east) / 2
    return {
        "type": "FeatureCollection",
        "bbox": [box.west, box.south, box.east, box.north],
        "addresses_capped": capped,
        # The areas the box's middle is in, named, so a resident knows the neighbourhood.
        "areas": [
            {"kind": a.kind, "name": a.name}
            for a in areas.at(middle_lat, middle_long)
            if a.kind not in NOT_SHOWN
        ],
        "features": features,
    }


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _point(lat: float, long: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(long, 6), round(lat, 6)]}


def _addresses(index: geocoding.AddressIndex, rows: npt.NDArray[np.int32]) -> list[dict[str, Any]]:
    """One point per house number and place (the file lists some once per unit)."""
    seen: set[tuple[str, float, float]] = set()
    found = []
    for row in rows.tolist():
        number = index.numbers[index.number[row]]
        lat, long = round(float(index.lat[row]), 6), round(float(index.long[row]), 6)
        if (number, lat, long) in seen:
            continue
        seen.add((number, lat, long))
        street = index.street_label[index.street[row]]
        found.append(_feature(_point(lat, long), kind="address", number=number, street=street))
    return found


def _streets(index: geocoding.AddressIndex, rows: npt.NDArray[np.int32]) -> list[dict[str, Any]]:
    # The rows grouped by street in one sort, not one scan per street.
    rows = rows[np.argsort(index.street[rows], kind="stable")]
    streets = index.street[rows]
    firsts = np.flatnonzero(np.diff(streets, prepend=-1))
    found = []
    for mine in np.split(rows, firsts[1:]):
        if not len(mine):
            continue
        lines = _street_lines(index.lat[mine], index.long[mine])
        if lines:
            found.append(
                _feature(
                    {"type": "MultiLineString", "coordinates": lines},
                    kind="street",
                    name=index.street_label[int(index.street[mine[0]])],
                )
            )
    return found


def _street_lines(
    lat: npt.NDArray[np.float64], long: npt.NDArray[np.float64]
) -> list[list[list[float]]]:
    """A street's line through its address points: their middles along the street's direction
    (the two sides of a street average to its middle), from its first address to its last."""
    if len(lat) < 2:
        return []
    mid_lat, mid_long = float(lat.mean()), float(long.mean())
    metres_x = METRES_PER_DEG_LONG_EQUATOR * math.cos(math.radians(mid_lat))
    xy = np.column_stack(((long - mid_long) * metres_x, (lat - mid_lat) * METRES_PER_DEG_LAT))
    # The street's direction: the points' main axis.
    axis = np.linalg.svd(xy, full_matrices=False)[2][0]
    along = xy @ axis
    if float(along.max() - along.min()) < 1.0:
        return []
    step = np.floor((along - along.min()) / STREET_STEP_M).astype(np.int64)
    which = np.unique(step, return_inverse=True)[1]
    counts = np.bincount(which).astype(np.float64)
    middles = np.column_stack(
        (np.bincount(which, xy[:, 0]) / counts, np.bincount(which, xy[:, 1]) / counts)
    )
    # Stretched along the axis to the first and last address.
    first, last = middles[0], middles[-1]
    middles[0] = first + axis * (along.min() - float(first @ axis))
    middles[-1] = last + axis * (along.max() - float(last @ axis))
    if len(middles) == 1:
        middles = np.vstack((middles[0], middles[0] + axis * float(along.max() - along.min())))
    gaps = np.hypot(*np.diff(middles, axis=0).T) > STREET_GAP_M
    points = np.column_stack(
        (
            np.round(middles[:, 0] / metres_x + mid_long, 6),
            np.round(middles[:, 1] / METRES_PER_DEG_LAT + mid_lat, 6),
        )
    )
    pieces = np.split(points, np.flatnonzero(gaps) + 1)
    return [piece.tolist() for piece in pieces if len(piece) >= 2]


def _places(index: geocoding.AddressIndex, box: Box) -> list[dict[str, Any]]:
    return [
        _feature(_point(lat, long), kind="place", name=name)
        for name, lat, long in index.places_within(box.west, box.south, box.east, box.north)
    ]


def _boundaries(box: Box, areas: AreaIndex) -> list[dict[str, Any]]:
    found = []
    for area, lines in areas.outlines_within(box.west, box.south, box.east, box.north):
        if area.kind in NOT_SHOWN:
            continue
        lines = shapely.set_precision(
            shapely.simplify(lines, 0.00002, preserve_topology=False), 0.000001
        )
        if not lines.is_empty:
            found.append(_feature(mapping(lines), kind="boundary", area=area.kind, name=area.name))
    return found
