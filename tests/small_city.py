"""A small square city loaded through the import commands, for location tests.

The city spans longitude -74.00..-73.90 and latitude 40.60..40.70, split into a North and a
South service zone at latitude 40.65. Dumont Avenue runs east-west at latitude 40.67 with
house numbers 1300-1398 (even on one side); Van Siclen Avenue crosses it at longitude -73.925.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from django.core.management import call_command

INSIDE = (40.67, -73.93)
OUTSIDE = (40.75, -74.05)


def square(west: float, south: float, east: float, north: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(name: str, geometry: dict, **props) -> dict:
    return {"type": "Feature", "properties": {"name": name, **props}, "geometry": geometry}


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def dumont_long(number: int) -> float:
    """Dumont Avenue: number 1300 at -73.94, 1398 at -73.92."""
    return -73.94 + (number - 1300) / 98 * 0.02


def write_addresses(path: Path, skip: tuple[int, ...] = ()) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["LON", "LAT", "NUMBER", "STREET", "UNIT", "CITY", "POSTCODE", "ID"])
        for number in range(1300, 1400, 2):
            if number not in skip:
                w.writerow(
                    [
                        dumont_long(number),
                        40.67,
                        number,
                        "DUMONT AVENUE",
                        "",
                        "Brooklyn",
                        "11208",
                        f"dumont-{number}",
                    ]
                )
        for i, number in enumerate(range(500, 600, 4)):
            w.writerow(
                [
                    -73.925,
                    40.66 + i * 0.0008,
                    number,
                    "VAN SICLEN AVENUE",
                    "",
                    "Brooklyn",
                    "11207",
                    f"vansiclen-{number}",
                ]
            )
    return path


def load(tmp_path: Path, *, skip: tuple[int, ...] = ()) -> None:
    limits = write_geojson(
        tmp_path / "limits.geojson", [feature("Small City", square(-74.0, 40.6, -73.9, 40.7))]
    )
    zones = write_geojson(
        tmp_path / "zones.geojson",
        [
            feature("North zone", square(-74.0, 40.65, -73.9, 40.7), code="N"),
            feature("South zone", square(-74.0, 40.6, -73.9, 40.65), code="S"),
        ],
    )
    places = tmp_path / "places.csv"
    places.write_text("NAME,KIND,LAT,LONG,ALIASES\nChandler Park,park,40.68,-73.95,Chandler\n")
    call_command("import_boundaries", str(limits), kind="city_limits", verbosity=0)
    call_command(
        "import_boundaries", str(zones), kind="service_zone", code_property="code", verbosity=0
    )
    call_command("import_addresses", str(write_addresses(tmp_path / "a.csv", skip)), verbosity=0)
    call_command("import_places", str(places), verbosity=0)
    corners = tmp_path / "corners.csv"
    corners.write_text(
        "STREET1,STREET2,CITY,LAT,LON\nDUMONT AVENUE,VAN SICLEN AVENUE,Brooklyn,40.67,-73.925\n"
    )
    call_command("import_intersections", str(corners), verbosity=0)
