"""Build the Los Angeles demo pack's geography from its real MyLA311 records.

    python -m city311.demo.build_la

Reads the records shipped under the pack (`cities/la/history/*.csv.gz`, byte-for-byte copies of
the shared LA files) and the neighbourhood council boundaries, and writes, deterministically
(same input, same bytes):

- addresses.csv.gz: OpenAddresses columns, one row per distinct (number, street, ZIP) seen in
  the records with a point inside the city (the union of the councils), at the mean of its
  records' points;
- corners.csv.gz: the records' "X ST AT Y AVE" places, one row per pair of streets;
- places.csv.gz: a few well-known parks and buildings residents name instead of an address;
- boundaries/collection_districts.geojson.gz: LA Sanitation's six collection districts
  (wastesheds), each neighbourhood council joined to the district its bulky-item crews were
  assigned from most often in the records.

No Django here: it runs before any database exists.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Point, mapping, shape

from city311.demo.builder import (
    ADDRESS_COLUMNS,
    CORNER_COLUMNS,
    PLACE_COLUMNS,
    AddressPoints,
    CornerPoints,
    address_rows,
    coordinates,
    corner_rows,
    read_rows,
    write_csv_gz,
)

PACK = Path(__file__).parent / "cities" / "la"
HISTORY = PACK / "history"
COUNCILS = PACK / "boundaries" / "neighborhood_councils.geojson.gz"
DISTRICTS_FILE = PACK / "boundaries" / "collection_districts.geojson.gz"
CITY = "Los Angeles"
# "1512 1/2 E 107TH ST": LA's half numbers are part of the house number.
_NUMBER = re.compile(r"^(\d+[A-Z]?(?: 1/2)?)\s+(\S.*)$")
_CORNER = re.compile(r"^(.+?)\s+AT\s+(.+)$")


def record_files() -> list[Path]:
    return sorted(HISTORY.glob("*.csv.gz"))


# A record's (lat, long), or None (the name la.py reads it by).
point = coordinates


def split_address(text: str) -> tuple[str, str]:
    """("2111 W BELLEVUE AVE, 90026") -> ("2111 W BELLEVUE AVE", "90026")."""
    place, _, zipcode = text.rpartition(",")
    if not place or not zipcode.strip().isdigit():
        return " ".join(text.split()), ""
    return " ".join(place.split()), zipcode.strip()[:5]


def _city(path: Path) -> Any:
    """The union of the neighbourhood councils: the city as the boundaries draw it."""
    features = json.loads(gzip.decompress(path.read_bytes()))["features"]
    return shapely.union_all([shape(f["geometry"]) for f in features])


def record_addresses(paths: list[Path]) -> AddressPoints:
    """The points of the records at each (number, street, ZIP)."""
    points: AddressPoints = defaultdict(list)
    for path in paths:
        for row in read_rows(path):
            address, zipcode = split_address(row.get("address", "").upper())
            match = _NUMBER.match(address)
            found = point(row)
            if match and found and zipcode and " AT " not in address:
                points[(match.group(1), match.group(2), zipcode)].append(found)
    return points


def record_corners(paths: list[Path]) -> CornerPoints:
    """The records' "X ST AT Y AVE" places: the points at each unordered pair of streets."""
    points: CornerPoints = defaultdict(list)
    for path in paths:
        for row in read_rows(path):
            address, _ = split_address(row.get("address", "").upper())
            match = _CORNER.match(address)
            at = point(row)
            if match and at and match.group(1) != match.group(2):
                a, b = sorted((match.group(1), match.group(2)))
                points[(a, b, CITY)].append(at)
    return points


# Well-known places residents name instead of an address, at representative points inside them.
PLACES: list[tuple[str, str, float, float, str]] = [
    ("Los Angeles City Hall", "facility", 34.053691, -118.242766, "City Hall"),
    ("Los Angeles Central Library", "facility", 34.050526, -118.254929, "Central Library"),
    ("Union Station", "landmark", 34.056219, -118.236502, "LA Union Station"),
    ("Grand Park", "park", 34.055313, -118.245689, ""),
    ("Pershing Square", "park", 34.048411, -118.252740, ""),
    ("MacArthur Park", "park", 34.057909, -118.277606, ""),
    ("Echo Park Lake", "park", 34.072868, -118.260556, ""),
    ("Elysian Park", "park", 34.081021, -118.240012, ""),
    ("Exposition Park", "park", 34.016300, -118.286200, "Expo Park"),
    ("Griffith Observatory", "landmark", 34.118434, -118.300393, ""),
    ("Hollywood Bowl", "landmark", 34.112224, -118.339128, ""),
    ("Lake Balboa", "park", 34.185556, -118.495833, "Anthony C. Beilenson Park"),
]


# LA Sanitation's collection districts, as the records' AssignTo codes name them.
DISTRICTS = {
    "EV": "East Valley",
    "WV": "West Valley",
    "NC": "North Central",
    "SLA": "South Los Angeles",
    "WLA": "West Los Angeles",
    "HB": "Harbor",
}


def district_features(paths: list[Path], councils: Path) -> dict[str, Any]:
    """The six collection districts as a GeoJSON FeatureCollection: each neighbourhood council
    joins the district its bulky-item requests were most often assigned to."""
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for path in paths:
        for row in read_rows(path):
            if row.get("requesttype") == "Bulky Items" and row.get("assignto") in DISTRICTS:
                votes[row.get("nc", "")][row["assignto"]] += 1
    parts: dict[str, list[Any]] = defaultdict(list)
    for feature in json.loads(gzip.decompress(councils.read_bytes()))["features"]:
        council = votes.get(str(feature["properties"]["nc_id"]))
        if council:
            parts[council.most_common(1)[0][0]].append(shape(feature["geometry"]))
    features = []
    for code in sorted(parts):
        geometry = shapely.union_all(parts[code])
        # Rounded: the file is read by people too, and 1e-6 degrees is about 10 cm.
        geometry = shapely.set_precision(geometry, 1e-6)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": f"{DISTRICTS[code]} collection district"},
                "geometry": mapping(geometry),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def build() -> None:
    paths = record_files()
    city = _city(COUNCILS)

    def inside(lat: float, long: float) -> bool:
        return bool(city.contains(Point(long, lat)))

    addresses = address_rows(
        record_addresses(paths), city_of=lambda _key: CITY, id_prefix="la", inside=inside
    )
    write_csv_gz(PACK / "addresses.csv.gz", ADDRESS_COLUMNS, addresses)
    places = [
        [name, kind, f"{lat:.6f}", f"{long:.6f}", aliases]
        for name, kind, lat, long, aliases in sorted(PLACES)
        if city.contains(Point(long, lat))
    ]
    write_csv_gz(PACK / "places.csv.gz", PLACE_COLUMNS, places)
    corners = corner_rows(record_corners(paths), inside=inside)
    write_csv_gz(PACK / "corners.csv.gz", CORNER_COLUMNS, corners)
    districts = json.dumps(district_features(paths, COUNCILS), separators=(",", ":"))
    with open(DISTRICTS_FILE, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as f:
        f.write(districts.encode())
    print(
        f"{len(addresses)} addresses, {len(places)} places, {len(corners)} corners, "
        f"collection districts -> {PACK}"
    )


if __name__ == "__main__":
    build()
