"""Distances between points given as latitude and longitude, in metres: one set of formulas.

`metres` is the one to use. `fast_metres` is its flat-earth approximation for hot loops (the
geocoder measures thousands of candidate points a lookup, as numpy arrays): within a city it is
off from `metres` by well under 0.1%, and it needs no trigonometry per point.
"""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np
import numpy.typing as npt

# The mean Earth radius: every formula here treats the Earth as this one sphere, so the fast
# variant and the exact one agree.
EARTH_RADIUS_M = 6_371_000.0
# Metres in one degree of latitude, and of longitude at the equator, on that sphere.
METRES_PER_DEG_LAT = METRES_PER_DEG_LONG_EQUATOR = math.radians(1) * EARTH_RADIUS_M

Floats = npt.NDArray[np.float64]


def metres(lat1: float, long1: float, lat2: float, long2: float) -> float:
    """Great-circle distance between two points in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(long2 - long1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@overload
def fast_metres(lat1: float, long1: float, lat2: float, long2: float) -> float: ...
@overload
def fast_metres(lat1: float, long1: float, lat2: Floats, long2: Floats) -> Floats: ...
def fast_metres(lat1: float, long1: float, lat2: Any, long2: Any) -> Any:
    """Metres from (lat1, long1) to (lat2, long2), on a flat earth around the first point.

    For points a few kilometres apart (one city); `lat2` and `long2` may be numpy arrays, to
    measure from one point to many at once.
    """
    dy = (lat2 - lat1) * METRES_PER_DEG_LAT
    dx = (long2 - long1) * (METRES_PER_DEG_LONG_EQUATOR * math.cos(math.radians(lat1)))
    if isinstance(dx, np.ndarray):
        return np.hypot(dx, dy)
    return math.hypot(dx, dy)


def degrees_around(lat: float, radius_m: float) -> tuple[float, float]:
    """Half the height and width, in degrees, of a box holding every point within `radius_m`.

    A little generous, never short: a box query then measures the few points inside it.
    """
    radius_m *= 1.001  # rounding must never leave a point at exactly the radius outside
    d_lat = radius_m / METRES_PER_DEG_LAT
    # Measured at the box's edge nearest a pole, where a degree of longitude is shortest.
    widest = min(89.0, abs(lat) + d_lat)
    return d_lat, radius_m / (METRES_PER_DEG_LONG_EQUATOR * math.cos(math.radians(widest)))
