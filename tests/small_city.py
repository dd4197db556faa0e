"""A small square city loaded through the import commands, for location tests.

The city spans longitude -74.00..-73.90 and latitude 40.60..40.70, split into a North and a
South service zone at latitude 40.65. Dumont Avenue runs east-west at latitude 40.67 with
house numbers 1300-1398 (even on one side); Van Siclen Avenue crosses it at longitude -73.925.
"""

from __future__ import annotations

import csv
import io
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


def zones(path: Path, line: float = 40.65) -> Path:
    """The North and South service zones, meeting at latitude `line`."""
    return write_geojson(
        path,
        [
            feature("North zone", square(-74.0, line, -73.9, 40.7), code="N"),
            feature("South zone", square(-74.0, 40.6, -73.9, line), code="S"),
        ],
    )


def redraw_zones(folder: Path, line: float) -> None:
    """The city imports new zones, meeting at `line`, through the boundary import command."""
    call_command(
        "import_boundaries",
        str(zones(folder / f"zones-{line}.geojson", line)),
        kind="service_zone",
        code_property="code",
        verbosity=0,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def load(tmp_path: Path, *, skip: tuple[int, ...] = ()) -> None:
    limits = write_geojson(
        tmp_path / "limits.geojson", [feature("Small City", square(-74.0, 40.6, -73.9, 40.7))]
    )
    service_zones = zones(tmp_path / "zones.geojson")
    places = tmp_path / "places.csv"
    places.write_text("NAME,KIND,LAT,LONG,ALIASES\nChandler Park,park,40.68,-73.95,Chandler\n")
    call_command("import_boundaries", str(limits), kind="city_limits", verbosity=0)
    call_command(
        "import_boundaries",
        str(service_zones),
        kind="service_zone",
        code_property="code",
        verbosity=0,
    )
    call_command("import_addresses", str(write_addresses(tmp_path / "a.csv", skip)), verbosity=0)
    call_command("import_places", str(places), verbosity=0)
    corners = tmp_path / "corners.csv"
    corners.write_text(
        "STREET1,STREET2,CITY,LAT,LON\nDUMONT AVENUE,VAN SICLEN AVENUE,Brooklyn,40.67,-73.925\n"
    )
    call_command("import_intersections", str(corners), verbosity=0)


SMALL_PACK = Path(__file__).parent / "cities" / "small"


def write_pack(folder: Path) -> Path:
    """The whole small city as a city pack (docs/city-pack.md): its manifest (the second test
    city's), two departments and three service types in English and Spanish, a routing rule,
    its week, three staff, the limits, two zones, the addresses, a park and a corner."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "boundaries").mkdir(exist_ok=True)
    (folder / "branding").mkdir(exist_ok=True)
    (folder / "branding" / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" '
        'height="10" fill="#008817"/></svg>'
    )
    manifest = (SMALL_PACK / "city.yaml").read_text()
    manifest = manifest.replace(
        "    secondary: red-60v\n", "    secondary: red-60v\n  logo: branding/logo.svg\n"
    )
    manifest += (
        "boundaries:\n"
        "  - {kind: city_limits, file: boundaries/limits.geojson, code: code}\n"
        "  - {kind: service_zone, file: boundaries/zones.geojson}\n"
    )
    (folder / "city.yaml").write_text(manifest)
    write_geojson(
        folder / "boundaries" / "limits.geojson",
        [feature("Small City", square(-74.0, 40.6, -73.9, 40.7), code="city")],
    )
    write_geojson(
        folder / "boundaries" / "zones.geojson",
        [
            feature("North zone", square(-74.0, 40.65, -73.9, 40.7), code="N"),
            feature("South zone", square(-74.0, 40.6, -73.9, 40.65), code="S"),
        ],
    )
    write_addresses(folder / "addresses.csv")
    (folder / "places.csv").write_text(
        "NAME,KIND,LAT,LONG,ALIASES\nChandler Park,park,40.68,-73.95,Chandler\n"
    )
    (folder / "corners.csv").write_text(
        "STREET1,STREET2,CITY,LAT,LON\nDUMONT AVENUE,VAN SICLEN AVENUE,Brooklyn,40.67,-73.925\n"
    )
    (folder / "catalog.yaml").write_text(CATALOG)
    (folder / "routing.yaml").write_text(
        "rules:\n  - {service_type: pothole, area: service_zone/S, department: south-streets}\n"
    )
    (folder / "calendar.yaml").write_text(
        "hours:\n"
        + "".join(
            f'  - {{weekday: {day}, opens: "07:00", closes: "19:00"}}\n'
            for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
        )
        + "holidays:\n  - {date: 2026-03-04, name: Small City Day}\n"
    )
    (folder / "messages.yaml").write_text(
        "templates:\n"
        "  - kind: request.closed\n"
        "    language: es\n"
        "    service_type: pothole\n"
        "    subject: Bache {{ tracking_number }} reparado\n"
        '    text: "Small City reparó el bache {{ tracking_number }}."\n'
    )
    (folder / "staff.yaml").write_text(
        "users:\n"
        "  - {username: lena, first_name: Lena, last_name: Ortiz, email: lena@small.example,"
        " role: Department staff, departments: [streets]}\n"
        "  - {username: sam, first_name: Sam, last_name: Wu, email: sam@small.example,"
        " role: Call taker}\n"
        "  - {username: ines, first_name: Ines, last_name: Park, email: ines@small.example,"
        " role: Administrator}\n"
    )
    return folder


CATALOG = """\
departments:
  - slug: streets
    name: Streets Division
    email: streets@small.example
    translations: {es: {name: División de Calles}}
  - slug: south-streets
    name: Streets Division, South Yard
service_types:
  - service_code: pothole
    service_name: Pothole
    description: A hole in the road.
    group: Streets
    department: streets
    sla_amount: 5
    sla_unit: calendar_days
    related_types: [sinkhole]
    translations: {es: {service_name: Bache, group: Calles}}
    attributes:
      - code: size
        description: How big is it?
        datatype: singlevaluelist
        required: true
        translations: {es: {description: "¿Qué tamaño tiene?"}}
        values:
          - {key: small, name: Smaller than a plate, translations: {es: {name: Pequeño}}}
          - {key: large, name: Larger than a plate}
  - service_code: sinkhole
    service_name: Sinkhole
    group: Streets
    department: streets
    urgency: urgent
    sla_amount: 8
    sla_unit: business_hours
  - service_code: fire
    service_name: Fire
    urgency: emergency
"""
