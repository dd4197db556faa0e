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
import gzip
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

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


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    """Yield a file's rows keyed by normalised header ("Incident Zip" -> "incident_zip")."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
        for row in reader:
            yield dict(zip(header, row, strict=False))


def coordinates(row: dict[str, str]) -> tuple[float, float] | None:
    """(lat, long) of a record, or None when missing or zero."""
    try:
        lat, long = float(row.get("latitude") or 0), float(row.get("longitude") or 0)
    except ValueError:
        return None
    return (lat, long) if lat and long else None


def split_address(row: dict[str, str]) -> tuple[str, str] | None:
    """(number, street) of an ADDRESS record, or None when it has no house number."""
    address = " ".join((row.get("incident_address") or "").upper().split())
    street = " ".join((row.get("street_name") or "").upper().split())
    if street and address.endswith(" " + street):
        number = address[: -len(street)].strip()
        return (number, street) if _NUMBER.match(f"{number} x") else None
    match = _NUMBER.match(address)
    return (match.group(1), match.group(2)) if match else None


def address_rows(paths: list[Path]) -> list[list[str]]:
    """One OpenAddresses row per distinct (number, street, postcode), at the mean of its
    records' coordinates, sorted by city, street, number."""
    points: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
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
    rows = []
    for key in sorted(points, key=lambda k: (cities[k], k[1], k[0], k[2])):
        lat, long = _mean(points[key])
        number, street, postcode = key
        digest = hashlib.sha1("|".join(key).encode()).hexdigest()[:10]
        rows.append(
            [
                f"{long:.6f}",
                f"{lat:.6f}",
                number,
                street,
                "",
                cities[key],
                postcode,
                "nyc-" + digest,
            ]
        )
    return rows


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
    places = {name: ("park", *_mean(found), "") for name, found in points.items()}
    for place in landmarks():
        lat, long = float(place["LAT"]), float(place["LONG"])
        places[place["NAME"]] = (place["KIND"], lat, long, place["ALIASES"])
    return [
        [name, kind, f"{lat:.6f}", f"{long:.6f}", aliases]
        for name, (kind, lat, long, aliases) in sorted(places.items())
    ]


def intersection_rows(paths: list[Path]) -> list[list[str]]:
    """Corners reported as INTERSECTION records: the two streets, the borough and the mean of
    their records' coordinates; one row per unordered pair of streets in a borough."""
    points: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
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
    rows = []
    for (a, b, city), found in sorted(points.items()):
        lat, long = _mean(found)
        rows.append([a, b, city, f"{lat:.6f}", f"{long:.6f}"])
    return rows


def _mean(points: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def write_csv_gz(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write a gzip CSV whose bytes depend only on its rows (mtime 0, no file name)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as f:
        f.write(text.getvalue().encode("utf-8"))


def main() -> None:
    paths = record_files()
    addresses = address_rows(paths)
    places = place_rows(paths)
    header = ["LON", "LAT", "NUMBER", "STREET", "UNIT", "CITY", "POSTCODE", "ID"]
    write_csv_gz(ADDRESSES, header, addresses)
    write_csv_gz(PLACES, ["NAME", "KIND", "LAT", "LONG", "ALIASES"], places)
    intersections = intersection_rows(paths)
    write_csv_gz(INTERSECTIONS, ["STREET1", "STREET2", "CITY", "LAT", "LON"], intersections)
    print(f"{len(intersections)} intersections -> {INTERSECTIONS}")
    print(f"{len(addresses)} addresses -> {ADDRESSES}")
    print(f"{len(places)} places -> {PLACES}")


if __name__ == "__main__":
    main()
