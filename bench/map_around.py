"""How fast the maps' own base is drawn: /api/map/around.geojson's work for one uncached box.

    .venv/bin/python bench/map_around.py [--points 1000000] [--boxes 200]

Builds a generated city of `--points` address points (bench/geocode.py's: streets 100 m apart,
addresses 10 m apart on both sides) and 200 square districts, then draws `--boxes` random
street-level boxes (a phone's view at zoom 17 and a desktop's at zoom 16, snapped to the grid as
the endpoint does) and prints p50/p99 milliseconds, features and bytes per box. A cached box is
one cache read; this is the first resident to look at a place after an import.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
import django

django.setup()

from shapely.geometry import box as square  # noqa: E402

from bench.geocode import generated_rows  # noqa: E402
from city311.geo.around import Box, collection  # noqa: E402
from city311.geo.boundaries import Area, AreaIndex  # noqa: E402
from city311.geo.geocoding import AddressIndex  # noqa: E402

VIEWS = {"phone, zoom 17": (0.0042, 0.0062), "desktop, zoom 16": (0.027, 0.017)}


def districts(index: AddressIndex) -> AreaIndex:
    """A 20 x 10 grid of districts over the generated city, as the city's areas."""
    west, east = float(index.long.min()), float(index.long.max())
    south, north = float(index.lat.min()), float(index.lat.max())
    areas, shapes = [], []
    for i in range(20):
        for j in range(10):
            w = west + (east - west) * i / 20
            s = south + (north - south) * j / 10
            shapes.append(square(w, s, w + (east - west) / 20, s + (north - south) / 10))
            areas.append(Area("council_district", f"{i}-{j}", f"District {i}-{j}", len(areas)))
    return AreaIndex(areas, shapes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--boxes", type=int, default=200)
    args = parser.parse_args()
    rows = generated_rows(args.points)
    index = AddressIndex.build(rows, [])
    areas = districts(index)
    rng = random.Random(311)
    print(f"{len(rows):,} address points, {len(areas.areas)} districts")
    for view, (width, height) in VIEWS.items():
        times, features, sizes = [], [], []
        for _ in range(args.boxes):
            row = rng.randrange(len(rows))
            lat, long = float(index.lat[row]), float(index.long[row])
            half_w, half_h = width / 2, height / 2
            box = Box.snapped(long - half_w, lat - half_h, long + half_w, lat + half_h)
            start = time.perf_counter()
            drawn = collection(box, index, areas)
            text = json.dumps(drawn, separators=(",", ":"))
            times.append((time.perf_counter() - start) * 1000)
            features.append(len(drawn["features"]))
            sizes.append(len(text))
        times.sort()
        print(
            f"{view}: p50 {statistics.median(times):.1f} ms, "
            f"p99 {times[int(len(times) * 0.99) - 1]:.1f} ms, "
            f"{statistics.median(features):.0f} features, "
            f"{statistics.median(sizes) / 1024:.0f} KiB per box (median)"
        )


if __name__ == "__main__":
    main()
