"""Importing the city's geography from files: address points, boundaries, named places.

Each import reads the whole file first, reports bad rows with their line (or feature) numbers
without stopping, and then replaces the old data in one transaction, so readers see either the old
set or the new one, never half of each. A file with no usable row replaces nothing.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from django.db import transaction
from shapely.geometry import mapping, shape

from city311.geo.datasets import bump_version
from city311.geo.models import AddressPoint, GeoDataset, Intersection, Place, PlaceKind
from city311.lib.batches import let_others_write

Progress = Callable[[int], None]
ADDRESS_COLUMNS = ["LON", "LAT", "NUMBER", "STREET", "UNIT", "CITY", "POSTCODE", "ID"]
PLACE_COLUMNS = ["NAME", "KIND", "LAT", "LONG", "ALIASES"]
INTERSECTION_COLUMNS = ["STREET1", "STREET2", "CITY", "LAT", "LON"]


class GeoImportError(Exception):
    """The file as a whole cannot be imported; nothing was changed."""


@dataclass
class ImportReport:
    loaded: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")


def _open_text(path: Path) -> io.TextIOBase:
    if not path.exists():
        raise GeoImportError(f"There is no file {path}.")
    # A byte that is not UTF-8 is kept (as a surrogate) so the row holding it is reported with
    # its line, rather than the whole file failing to read at that byte.
    if path.suffix == ".gz":
        return gzip.open(  # type: ignore[return-value]
            path, "rt", encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
    return open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _is_geojson(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith((".geojson", ".json"))


def _features(path: Path) -> list[dict[str, Any]]:
    with _open_text(path) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise GeoImportError(
                f"{path.name} is not valid JSON (line {e.lineno}: {e.msg})."
            ) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise GeoImportError(f"{path.name} is not a GeoJSON FeatureCollection.")
    features = data.get("features")
    if not isinstance(features, list):
        raise GeoImportError(f"{path.name} has no list of features.")
    return features


def _coordinate(value: Any, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} {number} is outside {low}..{high}")
    return number


# Addresses ---------------------------------------------------------------------------------


def import_addresses(path: Path, *, progress: Progress | None = None) -> ImportReport:
    """Replace every address point with those in an OpenAddresses CSV or GeoJSON file."""
    report = ImportReport()
    dataset, _ = GeoDataset.objects.get_or_create(name="addresses")
    version = dataset.version + 1
    # Leftovers of an import that died half-way carry this version too: clear them first.
    AddressPoint.objects.filter(version__gt=dataset.version).delete()
    try:
        report.loaded = _write_addresses(path, version, report, progress)
        if not report.loaded:
            raise GeoImportError(f"{path.name} has no usable address; nothing was changed.")
    except BaseException:
        AddressPoint.objects.filter(version=version).delete()
        raise
    with transaction.atomic():
        bump_version("addresses", source=path.name, rows=report.loaded)
    AddressPoint.objects.filter(version__lt=version).delete()
    return report


def _write_addresses(
    path: Path, version: int, report: ImportReport, progress: Progress | None
) -> int:
    """Insert the file's good rows under `version` in short batches; returns how many."""
    from city311.geo.normalize import normalise_street

    loaded = 0
    points: list[AddressPoint] = []
    rows = _geojson_addresses(path) if _is_geojson(path) else _csv_addresses(path)
    for where, row in rows:
        try:
            lon, lat, number, street = _address_fields(row)
        except ValueError as e:
            report.problem(where, str(e))
            continue
        points.append(
            AddressPoint(
                source_id=str(row.get("ID") or "")[:60],
                number=number[:20],
                street=street[:120],
                street_key=normalise_street(street)[:120],
                unit=str(row.get("UNIT") or "")[:30],
                city=str(row.get("CITY") or "").strip()[:60],
                postcode=str(row.get("POSTCODE") or "").strip()[:10],
                lat=lat,
                long=lon,
                version=version,
            )
        )
        if len(points) >= 5000:
            loaded += _flush(points, progress)
            let_others_write()
    return loaded + _flush(points, progress)


def _address_fields(row: dict[str, Any]) -> tuple[float, float, str, str]:
    """An address row's point, number and street; ValueError says what is wrong."""
    from city311.geo.normalize import normalise_number

    _readable(row)
    lon = _coordinate(row.get("LON"), "LON", -180, 180)
    lat = _coordinate(row.get("LAT"), "LAT", -90, 90)
    number = normalise_number(str(row.get("NUMBER") or ""))
    street = " ".join(str(row.get("STREET") or "").split())
    if not number:
        raise ValueError("NUMBER is empty")
    if not street:
        raise ValueError("STREET is empty")
    return lon, lat, number, street


def check_file(what: str, path: Path, *, progress: Progress | None = None) -> list[str]:
    """The problems ("line 12: LAT 'x' is not a number") an import of `path` as `what`
    ("addresses", "places" or "intersections") would skip; writes nothing. Raises
    GeoImportError for a file that cannot be read at all."""
    rows, check = {
        "addresses": (
            lambda: _geojson_addresses(path) if _is_geojson(path) else _csv_addresses(path),
            _address_fields,
        ),
        "places": (
            lambda: _geojson_places(path) if _is_geojson(path) else _csv_places(path),
            _place_fields,
        ),
        "intersections": (lambda: _csv_intersections(path), _corner_fields),
    }[what]
    problems = []
    for count, (where, row) in enumerate(rows(), start=1):
        try:
            check(row)
        except ValueError as e:
            problems.append(f"{where}: {e}")
        if progress and count % 5000 == 0:
            progress(5000)
    return problems


def _flush(points: list[AddressPoint], progress: Progress | None) -> int:
    count = len(points)
    AddressPoint.objects.bulk_create(points)
    points.clear()
    if progress:
        progress(count)
    return count


def _csv_addresses(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    return _csv_rows(
        path,
        required=("LON", "LAT", "NUMBER", "STREET"),
        columns=ADDRESS_COLUMNS,
        what="an address file (UNIT, CITY, POSTCODE and ID may be empty)",
    )


def _geojson_addresses(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for number, feature in enumerate(_features(path), start=1):
        geometry = (feature or {}).get("geometry") or {}
        props = {k.upper(): v for k, v in ((feature or {}).get("properties") or {}).items()}
        if geometry.get("type") != "Point" or len(geometry.get("coordinates") or []) < 2:
            yield f"feature {number}", {"LON": None, "LAT": "not a point"}
            continue
        props["LON"], props["LAT"] = geometry["coordinates"][:2]
        yield f"feature {number}", props


# Boundaries --------------------------------------------------------------------------------


def import_boundaries(
    path: Path, *, kind: str, name_property: str, code_property: str = ""
) -> ImportReport:
    """Replace every boundary of `kind` with the polygons of a GeoJSON file."""
    report = ImportReport()
    rows: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    codes: set[str] = set()
    for number, feature in enumerate(_features(path), start=1):
        where = f"feature {number}"
        props = (feature or {}).get("properties") or {}
        name = str(props.get(name_property) or "").strip()
        code = str(props.get(code_property) if code_property else name).strip()
        if not name:
            report.problem(where, f"has no {name_property!r} property to name the area")
            continue
        try:
            geometry = _polygon(feature.get("geometry"))
        except ValueError as e:
            report.problem(where, f"{name}: {e}")
            continue
        if code in codes:
            report.problem(where, f"{name}: the code {code!r} is used twice")
            continue
        codes.add(code)
        rows.append((code, name, geometry, props))
    if not rows:
        raise GeoImportError(f"{path.name} has no usable area; nothing was changed.")
    from city311.geo.boundaries import replace_boundaries

    report.loaded = replace_boundaries(kind, rows, source=path.name)
    return report


def _polygon(geometry: Any) -> dict[str, Any]:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") if isinstance(geometry, dict) else "no geometry"
        raise ValueError(f"is a {kind}, not a Polygon or MultiPolygon")
    try:
        geom = shape(geometry)
    except Exception as e:  # shapely raises several kinds on malformed coordinates
        raise ValueError(f"has broken coordinates ({e})") from None
    if geom.is_empty:
        raise ValueError("is empty")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
        if geom.is_empty or geom.area == 0:
            raise ValueError("is not a valid polygon and cannot be repaired")
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise ValueError("has coordinates outside longitude/latitude (use EPSG:4326)")
    return mapping(geom)  # type: ignore[return-value]


# Places ------------------------------------------------------------------------------------


def import_places(path: Path) -> ImportReport:
    """Replace every named place with those of a CSV (NAME, KIND, LAT, LONG, ALIASES) or GeoJSON."""
    report = ImportReport()
    places = []
    rows = _geojson_places(path) if _is_geojson(path) else _csv_places(path)
    for where, row in rows:
        try:
            name, lat, lon = _place_fields(row)
        except ValueError as e:
            report.problem(where, str(e))
            continue
        kind = str(row.get("KIND") or "").strip().lower()
        places.append(
            Place(
                name=name[:200],
                kind=kind if kind in PlaceKind.values else PlaceKind.LANDMARK,
                aliases=str(row.get("ALIASES") or "")[:500],
                lat=lat,
                long=lon,
                geometry=row.get("GEOMETRY"),
                address=str(row.get("ADDRESS") or "")[:255],
                source=path.name[:200],
            )
        )
    report.loaded = _replace_all(Place, places, dataset="places", path=path, what="place")
    return report


def _place_fields(row: dict[str, Any]) -> tuple[str, float, float]:
    _readable(row)
    name = " ".join(str(row.get("NAME") or "").split())
    if not name:
        raise ValueError("NAME is empty")
    lat = _coordinate(row.get("LAT"), "LAT", -90, 90)
    lon = _coordinate(row.get("LONG"), "LONG", -180, 180)
    return name, lat, lon


def _csv_places(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    return _csv_rows(
        path, required=("NAME", "LAT", "LONG"), columns=PLACE_COLUMNS, what="a places file"
    )


def _geojson_places(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for number, feature in enumerate(_features(path), start=1):
        props = {k.upper(): v for k, v in ((feature or {}).get("properties") or {}).items()}
        try:
            geom = shape((feature or {}).get("geometry"))
            point = geom.representative_point()
        except Exception:
            yield f"feature {number}", {"NAME": props.get("NAME"), "LAT": "no geometry"}
            continue
        props["LAT"], props["LONG"] = point.y, point.x
        if geom.geom_type != "Point":
            props["GEOMETRY"] = mapping(geom)
        yield f"feature {number}", props


# Intersections -----------------------------------------------------------------------------


def import_intersections(path: Path) -> ImportReport:
    """Replace the known corners with a CSV of STREET1, STREET2, CITY, LAT, LON."""
    from city311.geo.normalize import normalise_street

    report = ImportReport()
    corners = []
    for where, row in _csv_intersections(path):
        try:
            first, second, lat, lon = _corner_fields(row)
        except ValueError as e:
            report.problem(where, str(e))
            continue
        key1, key2 = sorted((normalise_street(first)[:120], normalise_street(second)[:120]))
        corners.append(
            Intersection(
                street1=first[:120],
                street2=second[:120],
                key1=key1,
                key2=key2,
                city=str(row.get("CITY") or "").strip()[:60],
                lat=lat,
                long=lon,
            )
        )
    report.loaded = _replace_all(
        Intersection, corners, dataset="intersections", path=path, what="intersection"
    )
    return report


def _csv_intersections(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    return _csv_rows(
        path,
        required=("STREET1", "STREET2", "LAT", "LON"),
        columns=INTERSECTION_COLUMNS,
        what="an intersections file",
    )


def _corner_fields(row: dict[str, Any]) -> tuple[str, str, float, float]:
    _readable(row)
    first = " ".join(str(row.get("STREET1") or "").split())
    second = " ".join(str(row.get("STREET2") or "").split())
    if not first or not second:
        raise ValueError("STREET1 and STREET2 are both needed")
    lat = _coordinate(row.get("LAT"), "LAT", -90, 90)
    lon = _coordinate(row.get("LON"), "LON", -180, 180)
    return first, second, lat, lon


def _csv_rows(
    path: Path, *, required: tuple[str, ...], columns: list[str], what: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    with _open_text(path) as f:
        reader = csv.reader(f)
        try:
            header = [h.strip().upper() for h in next(reader)]
        except StopIteration:
            raise GeoImportError(f"{path.name} is empty.") from None
        missing = [c for c in required if c not in header]
        if missing:
            raise GeoImportError(
                f"{path.name} has no {', '.join(missing)} column: {what} needs the columns "
                f"{', '.join(columns)}."
            )
        while True:
            line = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as e:  # e.g. a field over the size limit: this row only
                yield f"line {line}", {BROKEN: f"cannot be read as CSV ({e})"}
                continue
            if any(v.strip() for v in values):
                yield f"line {line}", _row(header, values)


# A row that cannot be read carries what is wrong with it under this key.
BROKEN = "\0broken"


def _row(header: list[str], values: list[str]) -> dict[str, Any]:
    text = "\x1f".join(values)
    if not text.isascii() and any("\udc80" <= c <= "\udcff" for c in text):
        return {BROKEN: "is not UTF-8 text: save the file as UTF-8"}
    if "\n" in text or "\r" in text:
        return {BROKEN: 'has a line break inside a field: a quote (") is not closed'}
    return dict(zip(header, values, strict=False))


def _readable(row: dict[str, Any]) -> None:
    """Raise ValueError for a row `_csv_rows` could not read."""
    if BROKEN in row:
        raise ValueError(row[BROKEN])


def _replace_all(model: Any, rows: list[Any], *, dataset: str, path: Path, what: str) -> int:
    """Replace every row of a small dataset in one transaction; none to load changes nothing."""
    if not rows:
        raise GeoImportError(f"{path.name} has no usable {what}; nothing was changed.")
    with transaction.atomic():
        model.objects.all().delete()
        model.objects.bulk_create(rows, batch_size=2000)
        bump_version(dataset, source=path.name, rows=len(rows))
    return len(rows)
