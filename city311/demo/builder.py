"""What the demo packs' build scripts share: reading 311 records, and writing the address
points and corners seen in them as OpenAddresses and corner rows, deterministically (same
input, same bytes). New York's (`cities/nyc/build_addresses.py`) and Los Angeles's
(`build_la.py`) say only how their records name places.

No Django here: it runs before any database exists.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path

ADDRESS_COLUMNS = ["LON", "LAT", "NUMBER", "STREET", "UNIT", "CITY", "POSTCODE", "ID"]
PLACE_COLUMNS = ["NAME", "KIND", "LAT", "LONG", "ALIASES"]
CORNER_COLUMNS = ["STREET1", "STREET2", "CITY", "LAT", "LON"]

LatLong = tuple[float, float]
# (number, street, postcode) -> the points of the records seen there
AddressPoints = dict[tuple[str, str, str], list[LatLong]]
# (street, other street, city) -> the points of the records seen there
CornerPoints = dict[tuple[str, str, str], list[LatLong]]


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    """A records file's rows keyed by normalised header ("Incident Zip" -> "incident_zip",
    "RequestType" -> "requesttype"), values stripped."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
        for row in reader:
            yield dict(zip(header, (v.strip() for v in row), strict=False))


def coordinates(row: dict[str, str]) -> LatLong | None:
    """(lat, long) of a record, or None when missing or zero."""
    try:
        lat, long = float(row.get("latitude") or 0), float(row.get("longitude") or 0)
    except ValueError:
        return None
    return (lat, long) if lat and long else None


def mean(points: list[LatLong]) -> LatLong:
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def address_rows(
    points: AddressPoints,
    *,
    city_of: Callable[[tuple[str, str, str]], str],
    id_prefix: str,
    inside: Callable[[float, float], bool] | None = None,
) -> list[list[str]]:
    """One OpenAddresses row per (number, street, postcode) at the mean of its points (those
    `inside` the city), sorted by city, street, number and postcode; its ID is stable."""
    rows = []
    for key in sorted(points, key=lambda k: (city_of(k), k[1], k[0], k[2])):
        lat, long = mean(points[key])
        if inside is not None and not inside(lat, long):
            continue
        number, street, postcode = key
        digest = hashlib.sha1("|".join(key).encode()).hexdigest()[:10]
        fields = [f"{long:.6f}", f"{lat:.6f}", number, street, "", city_of(key), postcode]
        rows.append([*fields, f"{id_prefix}-{digest}"])
    return rows


def corner_rows(
    points: CornerPoints, *, inside: Callable[[float, float], bool] | None = None
) -> list[list[str]]:
    """One corner row per (street, other street, city) at the mean of its points."""
    rows = []
    for (a, b, city), found in sorted(points.items()):
        lat, long = mean(found)
        if inside is None or inside(lat, long):
            rows.append([a, b, city, f"{lat:.6f}", f"{long:.6f}"])
    return rows


def write_csv_gz(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """A gzip CSV whose bytes depend only on its rows (mtime 0, no file name)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as f:
        f.write(text.getvalue().encode("utf-8"))
