"""One way to measure distances: the great circle, and its flat approximation for hot loops."""

from __future__ import annotations

import math

import numpy as np

from city311.lib.distance import EARTH_RADIUS_M, degrees_around, fast_metres, metres

CITY_HALL = (40.7128, -74.0060)
BROOKLYN_BOROUGH_HALL = (40.6928, -73.9903)


def test_it_measures_a_known_distance_along_the_great_circle():
    # About 2.6 km from City Hall to Brooklyn Borough Hall, as any map says.
    assert 2_500 < metres(*CITY_HALL, *BROOKLYN_BOROUGH_HALL) < 2_700
    assert metres(*CITY_HALL, *CITY_HALL) == 0


def test_the_fast_variant_agrees_within_a_tenth_of_a_percent_across_a_city():
    for bearing in range(0, 360, 15):
        for km in (0.05, 1, 5, 20):
            lat = CITY_HALL[0] + km / 111.2 * math.cos(math.radians(bearing))
            long = CITY_HALL[1] + km / 84.2 * math.sin(math.radians(bearing))
            exact = metres(*CITY_HALL, lat, long)
            assert abs(fast_metres(*CITY_HALL, lat, long) - exact) <= exact * 0.001


def test_the_fast_variant_measures_one_point_to_many_at_once():
    lats = np.array([CITY_HALL[0], BROOKLYN_BOROUGH_HALL[0]])
    longs = np.array([CITY_HALL[1], BROOKLYN_BOROUGH_HALL[1]])
    found = fast_metres(*CITY_HALL, lats, longs)
    assert found[0] == 0
    assert found[1] == fast_metres(*CITY_HALL, *BROOKLYN_BOROUGH_HALL)


def destination(lat: float, long: float, bearing: float, distance: float) -> tuple[float, float]:
    """The point `distance` metres from (lat, long) on `bearing` degrees, on the same sphere."""
    p1, t, d = math.radians(lat), math.radians(bearing), distance / EARTH_RADIUS_M
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(t))
    dl = math.atan2(
        math.sin(t) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), long + math.degrees(dl)


def test_a_box_around_a_point_holds_every_point_within_the_radius():
    for lat0 in (0.0, 40.7, -33.9, 64.1):
        d_lat, d_long = degrees_around(lat0, 500)
        for bearing in range(0, 360, 5):
            lat, long = destination(lat0, 0.0, bearing, 500)
            assert abs(metres(lat0, 0.0, lat, long) - 500) < 0.01
            assert abs(lat - lat0) <= d_lat and abs(long) <= d_long, (lat0, bearing)


def test_no_other_module_has_a_great_circle_formula_of_its_own():
    # One set of formulas: a second haversine drifts from this one (another radius, another
    # rounding) and a route's order disagrees with the map's distances.
    from pathlib import Path

    import city311

    root = Path(city311.__file__).parent
    own = root / "lib" / "distance.py"
    found = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path != own and ("math.asin(" in path.read_text() or "6_371" in path.read_text())
    ]
    assert found == []
