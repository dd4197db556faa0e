"""Writing the running city as a city pack: what `import_city` reads back to the same city."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Max, Model

from city311.catalog.models import (
    BusinessHours,
    Department,
    Holiday,
    ServiceType,
    Translated,
    Translation,
)
from city311.cities.models import City
from city311.cities.pack import knowledge
from city311.cities.pack.files import FORMAT, dump_yaml, write_gzip
from city311.cities.pack.reader import ROLES, WEEKDAYS
from city311.facilities import pack as facilities_pack
from city311.geo.imports import ADDRESS_COLUMNS, INTERSECTION_COLUMNS, PLACE_COLUMNS
from city311.geo.models import AddressPoint, Boundary, GeoDataset, Intersection, Place
from city311.notifications.models import MessageTemplate
from city311.pickups import pack as pickups_pack
from city311.servicerequests.models import RoutingRule

Progress = Callable[[int], None]


class NothingToExport(Exception):
    pass


def export_city(folder: Path, *, progress: Progress | None = None) -> dict[str, int]:
    """Write the city into `folder` (created; must be empty). Returns what was written."""
    city = City.objects.filter(pk=1).first()
    if city is None:
        raise NothingToExport(
            "This database has no city yet: import a pack (city311 import_city DIR) first."
        )
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise NothingToExport(f"{folder} is not empty: export into a new or empty folder.")
    texts = _translations()
    counts: dict[str, int] = {}
    kinds = sorted(set(Boundary.objects.values_list("kind", flat=True)))
    (folder / "city.yaml").write_text(dump_yaml(_manifest(city, kinds, texts)))
    if city.logo:
        (folder / "branding").mkdir()
        (folder / "branding" / city.logo_name).write_bytes(bytes(city.logo))
    catalog = _catalog(texts)
    counts["service types"] = len(catalog["service_types"])
    (folder / "catalog.yaml").write_text(dump_yaml(catalog))
    phrases = {t.service_code: t.example_list() for t in ServiceType.objects.exclude(examples="")}
    if phrases:
        (folder / "phrases.yaml").write_text(dump_yaml(phrases))
    rules = _routing()
    counts["routing rules"] = len(rules)
    (folder / "routing.yaml").write_text(dump_yaml({"rules": rules}))
    (folder / "calendar.yaml").write_text(dump_yaml(_calendar()))
    templates = _messages()
    if templates:
        counts["message templates"] = len(templates)
        (folder / "messages.yaml").write_text(dump_yaml({"templates": templates}))
    articles = knowledge.export(lambda row: _translated(row, texts))
    if articles:
        counts["articles"] = len(articles)
        (folder / "knowledge.yaml").write_text(dump_yaml({"articles": articles}))

    pickups = pickups_pack.export(
        lambda row, field: _by_language(getattr(row, field), row, field, texts)
    )
    if pickups is not None:
        counts["pickup routes"] = len(pickups["routes"])
        (folder / "pickups.yaml").write_text(dump_yaml(pickups))
    users = _staff()
    counts["staff"] = len(users)
    (folder / "staff.yaml").write_text(dump_yaml({"users": users}))
    _facilities(folder, city, texts, counts)
    if kinds:
        (folder / "boundaries").mkdir()
    for kind in kinds:
        counts[f"{kind} areas"] = _boundaries(folder / "boundaries" / f"{kind}.geojson.gz", kind)
    counts["addresses"] = _addresses(folder / "addresses.csv.gz", progress)
    counts["places"] = _csv(
        folder / "places.csv",
        PLACE_COLUMNS,
        (
            [p.name, p.kind, _num(p.lat), _num(p.long), p.aliases]
            for p in Place.objects.order_by("name", "id")
        ),
    )
    counts["corners"] = _csv(
        folder / "corners.csv",
        INTERSECTION_COLUMNS,
        (
            [c.street1, c.street2, c.city, _num(c.lat), _num(c.long)]
            for c in Intersection.objects.order_by("key1", "key2", "city", "id")
        ),
    )
    for name in ("places.csv", "corners.csv"):
        path = folder / name
        if path.read_text().count("\n") <= 1:
            path.unlink()
    return counts


# (content type id, object id) -> language -> field -> text
Texts = dict[tuple[int, int], dict[str, dict[str, str]]]


def _facilities(folder: Path, city: City, texts: Texts, counts: dict[str, int]) -> None:
    facilities, events = facilities_pack.export(
        lambda row: _translated(row, texts), ZoneInfo(city.time_zone)
    )
    if facilities is not None:
        counts["facilities"] = len(facilities["facilities"])
        (folder / "facilities.yaml").write_text(dump_yaml(facilities))
    if events is not None:
        counts["events"] = len(events["events"])
        (folder / "events.yaml").write_text(dump_yaml(events))


def _translations() -> Texts:
    texts: Texts = {}
    for t in Translation.objects.order_by("language", "field"):
        texts.setdefault((t.content_type_id, t.object_id), {}).setdefault(t.language, {})[
            t.field
        ] = t.text
    return texts


def _translated(row: Model, texts: Texts) -> dict[str, dict[str, str]]:
    assert isinstance(row, Translated)
    content_type = ContentType.objects.get_for_model(row)
    found = texts.get((content_type.pk, row.pk), {})  # type: ignore[attr-defined]
    return {
        language: {f: fields[f] for f in row.translatable if f in fields}
        for language, fields in sorted(found.items())
    }


def _by_language(english: str, row: Model, field: str, texts: Texts) -> dict[str, str]:
    found = {"en": english}
    for language, fields in _translated(row, texts).items():
        if field in fields:
            found[language] = fields[field]
    return found


def _manifest(city: City, kinds: list[str], texts: Texts) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "name": city.name,
        "time_zone": city.time_zone,
        "languages": [x for x in city.languages.split(",") if x],
        "holidays": city.holidays,
        "map": {"center": [city.map_lat, city.map_long], "zoom": city.map_zoom},
        "tracking_number": {"grouping": [int(g) for g in city.tracking_grouping.split("-")]},
        "phones": {
            "main": city.phone,
            "outside": city.outside_phone,
            "emergency": city.emergency_phone,
            "emergency_transfer": city.emergency_transfer,
            "crisis": city.crisis_phone,
        },
        "hours": _by_language(city.hours, city, "hours", texts),
        "call_centre_hours": city.call_centre_hours,
        "branding": {
            "name": city.brand_name,
            "colors": {"primary": city.color_primary, "secondary": city.color_secondary},
        },
        "geocoder": {
            "states": [s for s in city.states.split(",") if s],
            "state_names": [s for s in city.state_names.split(",") if s],
            "aliases": [
                {"alias": a.alias, "city": a.part, "soft": a.soft} for a in city.aliases.all()
            ],
            "outside": [line for line in city.outside_names.splitlines() if line.strip()],
            "unplaced_addresses": city.unplaced_addresses,
        },
        "outside_referral": _by_language(city.outside_referral, city, "outside_referral", texts),
        "boundaries": [{"kind": kind, "file": f"boundaries/{kind}.geojson.gz"} for kind in kinds],
    }
    if city.logo:
        manifest["branding"]["logo"] = f"branding/{city.logo_name}"
    if city.history_module:
        manifest["history"] = {"module": city.history_module}
    return manifest


def _catalog(texts: Texts) -> dict[str, Any]:
    departments = [
        {
            "slug": d.slug,
            "name": d.name,
            "email": d.email,
            "phone": d.phone,
            "hours": d.hours,
            "description": d.description,
            "active": d.active,
            **_with_translations(d, texts),
        }
        for d in Department.objects.order_by("slug")
    ]
    types = []
    for t in (
        ServiceType.objects.select_related("department")
        .prefetch_related("attributes__values", "related_types")
        .order_by("display_order", "service_code")
    ):
        types.append(
            {
                "service_code": t.service_code,
                "service_name": t.service_name,
                "description": t.description,
                "group": t.group,
                "keywords": t.keywords,
                "department": t.department.slug if t.department else None,
                "urgency": t.urgency,
                "sla_amount": t.sla_amount,
                "sla_unit": t.sla_unit,
                "location_required": t.location_required,
                "contact_required": t.contact_required,
                "referral": t.referral,
                "duplicate_radius_m": t.duplicate_radius_m,
                "duplicate_window_days": t.duplicate_window_days,
                "related_types": sorted(r.service_code for r in t.related_types.all()),
                "active": t.active,
                **_with_translations(t, texts),
                "attributes": [
                    {
                        "code": a.code,
                        "description": a.description,
                        "datatype": a.datatype,
                        "datatype_description": a.datatype_description,
                        "required": a.required,
                        "variable": a.variable,
                        **_with_translations(a, texts),
                        "values": [
                            {"key": v.key, "name": v.name, **_with_translations(v, texts)}
                            for v in a.values.all()
                        ],
                    }
                    for a in t.attributes.all()
                ],
            }
        )
    return {"departments": departments, "service_types": types}


def _with_translations(row: Model, texts: Texts) -> dict[str, Any]:
    found = _translated(row, texts)
    return {"translations": found} if found else {}


def _routing() -> list[dict[str, Any]]:
    rules = []
    for r in RoutingRule.objects.select_related("service_type", "area", "department").order_by(
        "priority", "id"
    ):
        rule: dict[str, Any] = (
            {"service_type": r.service_type.service_code} if r.service_type else {"group": r.group}
        )
        if r.area:
            rule["area"] = f"{r.area.kind}/{r.area.code}"
        rule.update(department=r.department.slug, priority=r.priority, active=r.active)
        rules.append(rule)
    return rules


def _calendar() -> dict[str, Any]:
    return {
        "hours": [
            {
                "weekday": WEEKDAYS[h.weekday],
                "opens": f"{h.opens:%H:%M}",
                "closes": f"{h.closes:%H:%M}",
            }
            for h in BusinessHours.objects.order_by("weekday")
        ],
        "holidays": [
            {"date": h.date, "name": h.name, "closed": h.closed}
            for h in Holiday.objects.order_by("date")
        ],
    }


def _messages() -> list[dict[str, Any]]:
    found = []
    for t in MessageTemplate.objects.select_related("service_type").order_by(
        "kind", "language", "service_type__service_code"
    ):
        row: dict[str, Any] = {"kind": t.kind, "language": t.language}
        if t.service_type:
            row["service_type"] = t.service_type.service_code
        row.update({part: getattr(t, part) for part in ("subject", "text", "html", "sms")})
        found.append(row)
    return found


def _staff() -> list[dict[str, Any]]:
    users = []
    for user in User.objects.filter(groups__name__in=ROLES).distinct().order_by("username"):
        role = next(r for r in ROLES if r in {g.name for g in user.groups.all()})
        users.append(
            {
                "username": user.username,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "role": role,
                "departments": sorted(user.memberships.values_list("department__slug", flat=True)),
                "active": user.is_active,
            }
        )
    return users


def _boundaries(path: Path, kind: str) -> int:
    features = [
        {
            "type": "Feature",
            "properties": {**b.properties, "code": b.code, "name": b.name},
            "geometry": b.geometry,
        }
        # Ties of code (and PostgreSQL's own order of a JSON object's keys) would make two
        # exports of one city differ: the order and the keys are fixed here.
        for b in Boundary.objects.filter(kind=kind).order_by("code", "name", "id")
    ]
    write_gzip(
        path, json.dumps({"type": "FeatureCollection", "features": features}, sort_keys=True)
    )
    return len(features)


def _addresses(path: Path, progress: Progress | None) -> int:
    dataset = GeoDataset.objects.filter(name="addresses").first()
    current = dataset.version if dataset else 0
    newest = AddressPoint.objects.filter(version__lte=current).aggregate(v=Max("version"))["v"]
    rows = (
        [_num(a.long), _num(a.lat), a.number, a.street, a.unit, a.city, a.postcode, a.source_id]
        for a in AddressPoint.objects.filter(version=newest or 0).order_by("id").iterator(5000)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ADDRESS_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
        if progress and count % 5000 == 0:
            progress(5000)
    if count:
        write_gzip(path, buffer.getvalue())
    return count


def _csv(path: Path, header: list[str], rows: Iterable[list[Any]]) -> int:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _num(value: float) -> str:
    return repr(float(value))
