"""Build the demo city's address points and named places from the real NYC 311 records.

    python -m city311.demo.cities.nyc.build_addresses

Reads the pack's history/*.csv.gz and writes, deterministically (same input, same bytes):

- addresses.csv.gz: OpenAddresses columns LON,LAT,NUMBER,STREET,UNIT,CITY,POSTCODE,ID,
  one row per distinct (number, street, postcode) seen at an ADDRESS with coordinates;
- places.csv.gz: NAME,KIND,LAT,LONG,ALIASES, the parks named in the records plus the
  landmarks of sources/landmarks.csv (whose house numbers join addresses.csv.gz);
- corners.csv.gz: the corners of INTERSECTION records plus those of sources/corners.csv.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

from city311.demo.builder import (
    ADDRESS_COLUMNS,
    CORNER_COLUMNS,
    PLACE_COLUMNS,
    AddressPoints,
    CornerPoints,
    address_rows,
    coordinates,
    corner_rows,
    mean,
    read_rows,
    write_csv_gz,
)

PACK = Path(__file__).parent
ADDRESSES = PACK / "addresses.csv.gz"
PLACES = PACK / "places.csv.gz"
INTERSECTIONS = PACK / "corners.csv.gz"
# Has no header and no location columns.
SKIPPED = {"nyc311_comp370_2020_5cols_noheader.csv.gz"}
BOROUGHS = {"BROOKLYN", "BRONX", "MANHATTAN", "QUEENS", "STATEN ISLAND"}
_NUMBER = re.compile(r"^(\d+(?:-\d+)?[A-Z]?)\s+(\S.*)$")

# The landmarks, public buildings and corners New Yorkers name, written by hand with their
# published coordinates (tests/test_demo_landmarks.py checks each against the boroughs and the
# address points): data of the pack, merged into its files. A record-derived place, address or
# corner of the same name or key is replaced by these.
LANDMARKS = PACK / "sources" / "landmarks.csv"
KNOWN_CORNERS = PACK / "sources" / "corners.csv"


def landmarks() -> list[dict[str, str]]:
    with LANDMARKS.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def known_corners() -> list[dict[str, str]]:
    with KNOWN_CORNERS.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def record_files() -> list[Path]:
    return [p for p in sorted((PACK / "history").glob("*.csv.gz")) if p.name not in SKIPPED]


def split_address(row: dict[str, str]) -> tuple[str, str] | None:
    """(number, street) of an ADDRESS record, or None when it has no house number."""
    address = " ".join((row.get("incident_address") or "").upper().split())
    street = " ".join((row.get("street_name") or "").upper().split())
    if street and address.endswith(" " + street):
        number = address[: -len(street)].strip()
        return (number, street) if _NUMBER.match(f"{number} x") else None
    match = _NUMBER.match(address)
    return (match.group(1), match.group(2)) if match else None


def record_addresses(paths: list[Path]) -> tuple[AddressPoints, dict[tuple[str, str, str], str]]:
    """The points at each (number, street, postcode) of the ADDRESS records and landmarks,
    and the borough of each."""
    points: AddressPoints = defaultdict(list)
    cities: dict[tuple[str, str, str], str] = {}
    for path in paths:
        for row in read_rows(path):
            borough = (row.get("borough") or "").strip().upper()
            parts = split_address(row)
            point = coordinates(row)
            if row.get("address_type") != "ADDRESS" or borough not in BOROUGHS:
                continue
            if not parts or not point:
                continue
            postcode = (row.get("incident_zip") or "").strip()[:5]
            key = (parts[0], parts[1], postcode)
            points[key].append(point)
            cities[key] = borough.title()
    for place in landmarks():
        if place["NUMBER"]:
            key = (place["NUMBER"], place["STREET"], place["POSTCODE"])
            points[key] = [(float(place["LAT"]), float(place["LONG"]))]
            cities[key] = place["BOROUGH"]
    return points, cities


def place_rows(paths: list[Path]) -> list[list[str]]:
    """Parks named in the records, at the mean of their records' coordinates, and the
    well-known places; sorted by name."""
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for path in paths:
        for row in read_rows(path):
            name = " ".join((row.get("park_facility_name") or "").split())
            point = coordinates(row)
            if name and name.lower() != "unspecified" and point:
                points[name].append(point)
    places = {name: ("park", *mean(found), "") for name, found in points.items()}
    for place in landmarks():
        lat, long = float(place["LAT"]), float(place["LONG"])
        places[place["NAME"]] = (place["KIND"], lat, long, place["ALIASES"])
    return [
        [name, kind, f"{lat:.6f}", f"{long:.6f}", aliases]
        for name, (kind, lat, long, aliases) in sorted(places.items())
    ]


def record_corners(paths: list[Path]) -> CornerPoints:
    """The points at each corner of the INTERSECTION records and the known corners: one per
    unordered pair of streets in a borough."""
    points: CornerPoints = defaultdict(list)
    for path in paths:
        for row in read_rows(path):
            borough = (row.get("borough") or "").strip().upper()
            first = " ".join((row.get("intersection_street_1") or "").upper().split())
            second = " ".join((row.get("intersection_street_2") or "").upper().split())
            point = coordinates(row)
            if row.get("address_type") != "INTERSECTION" or borough not in BOROUGHS:
                continue
            if not first or not second or first == second or not point:
                continue
            a, b = sorted((first, second))
            points[(a, b, borough.title())].append(point)
    for corner in known_corners():
        a, b = sorted((corner["STREET1"], corner["STREET2"]))
        points[(a, b, corner["CITY"])] = [(float(corner["LAT"]), float(corner["LON"]))]
    return points


def main() -> None:
    paths = record_files()
    points, cities = record_addresses(paths)
    addresses = address_rows(points, city_of=cities.__getitem__, id_prefix="nyc")
    places = place_rows(paths)
    write_csv_gz(ADDRESSES, ADDRESS_COLUMNS, addresses)
    write_csv_gz(PLACES, PLACE_COLUMNS, places)
    intersections = corner_rows(record_corners(paths))
    write_csv_gz(INTERSECTIONS, CORNER_COLUMNS, intersections)
    print(f"{len(intersections)} intersections -> {INTERSECTIONS}")
    print(f"{len(addresses)} addresses -> {ADDRESSES}")
    print(f"{len(places)} places -> {PLACES}")


if __name__ == "__main__":
    main()
