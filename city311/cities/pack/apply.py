"""Applying a checked city pack to the database: one transaction, matched by natural keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model

from city311.accounts import roles
from city311.accounts.models import Membership
from city311.catalog import cache
from city311.catalog.models import (
    AttributeValue,
    BusinessHours,
    Department,
    Holiday,
    ServiceAttribute,
    ServiceType,
    Translated,
    Translation,
    Urgency,
)
from city311.cities.models import City, CityAlias
from city311.cities.pack import knowledge
from city311.cities.pack.reader import WEEKDAYS, Pack, phrase_lines
from city311.facilities import pack as facilities_pack
from city311.geo.boundaries import replace_boundaries, union_as_city_limits
from city311.geo.imports import import_addresses, import_intersections, import_places
from city311.geo.models import Boundary, GeoDataset
from city311.notifications.models import MessageTemplate
from city311.pickups import actions as pickups_actions
from city311.pickups import pack as pickups_pack
from city311.pickups import routes as pickups_routes
from city311.servicerequests.models import RoutingRule, ServiceRequest

Progress = Callable[[int], None]


class PackRefused(Exception):
    """The pack cannot be applied to this database as it stands; nothing was written."""


@dataclass
class Applied:
    counts: dict[str, int] = field(default_factory=dict)
    # (username, e-mail) of each user the import created: they need a set-password link.
    new_users: list[User] = field(default_factory=list)


def apply_pack(pack: Pack, *, progress: Progress | None = None, keep_city: bool = False) -> Applied:
    """Write a pack that `read_pack` found no problem in. All or nothing.

    `keep_city` leaves this database's city as it is (name, time zone, phones, map, branding,
    geocoder rules) and takes the rest: how a running city adds a starter catalog.
    """
    assert not pack.problems, "apply only a pack without problems"
    applied = Applied()
    texts = _Texts()
    if keep_city and not City.objects.filter(pk=1).exists():
        raise PackRefused(
            "There is no city here yet to keep: import the pack without --keep-city, after "
            "setting the name, time zone, map and phones in its city.yaml to the city's own."
        )
    with transaction.atomic(), cache.one_bump():
        if not keep_city:
            _city(pack, texts)
        if pack.catalog is not None:
            applied.counts["departments"], applied.counts["service types"] = _catalog(pack, texts)
        if pack.calendar is not None:
            _calendar(pack)
        changed = set()
        for boundary in pack.boundaries:
            source = f"city pack {boundary.name} {_digest(boundary.path)}"[:200]
            stored = Boundary.objects.filter(kind=boundary.kind)
            applied.counts[f"{boundary.kind} areas"] = len(boundary.features)
            # The same file as last time: its areas stand as they are.
            if stored.exists() and not stored.exclude(source=source).exists():
                continue
            replace_boundaries(boundary.kind, boundary.features, source=source)
            changed.add(boundary.kind)
        union = pack.city_limits_from
        if union and (union in changed or not Boundary.objects.filter(kind="city_limits").exists()):
            name = City.objects.get(pk=1).name
            union_as_city_limits(union, name=name, source=f"union of {union}")
        _geo_files(pack, applied, progress)
        if pack.routing is not None:
            applied.counts["routing rules"] = _routing(pack)
        if pack.staff is not None:
            applied.counts["staff"], applied.new_users = _staff(pack)
        if pack.messages is not None:
            applied.counts["message templates"] = _messages(pack)
        articles = knowledge.apply(pack.knowledge, texts) if pack.knowledge is not None else []
        if pack.knowledge is not None:
            applied.counts["articles"] = len(articles)
        if pack.facilities is not None or pack.events is not None:
            zone = ZoneInfo(City.objects.get(pk=1).time_zone)
            applied.counts |= facilities_pack.apply(pack.facilities, pack.events, texts, zone)

        if pack.pickups is not None:
            applied.counts["pickup routes"] = pickups_pack.apply(pack.pickups, texts.add)
        if pack.pickups is not None or "addresses" in pack.geo:
            # Which routes collect at each address, worked out once for every lookup; bookings
            # and subscribers of an address now on another route follow it.
            pickups_actions.remap_and_follow(pickups_routes.remap)
        texts.write()
        # After the translations: each revision keeps the article in every language.
        knowledge.record(articles)
    return applied


def _texts(value: Any) -> dict[str, str]:
    """A manifest text: "..." or {en: ..., es: ...}."""
    if isinstance(value, dict):
        return {str(k): str(v or "") for k, v in value.items()}
    return {"en": str(value or "")}


def _city(pack: Pack, texts: _Texts) -> None:
    m = pack.manifest
    phones, branding = m.get("phones") or {}, m.get("branding") or {}
    geocoder, view = m.get("geocoder") or {}, m["map"]
    grouping = "-".join(str(g) for g in (m.get("tracking_number") or {}).get("grouping", [3, 4, 3]))
    city = City.objects.filter(pk=1).first()
    if city is not None and city.tracking_grouping != grouping and ServiceRequest.objects.exists():
        raise PackRefused(
            f"The pack shows tracking numbers as {grouping}, the city's requests as "
            f"{city.tracking_grouping}: the look can change only while the city has no requests."
        )
    hours, referral = _texts(m.get("hours")), _texts(m.get("outside_referral"))
    city = city or City(pk=1)
    city.name = m["name"]
    city.time_zone = m["time_zone"]
    city.languages = ",".join(m.get("languages") or ["en"])
    city.holidays = m.get("holidays") or ""
    city.map_lat, city.map_long = view["center"]
    city.map_zoom = view.get("zoom", 11)
    city.tracking_grouping = grouping
    city.phone = str(phones.get("main", "311"))
    city.outside_phone = str(phones.get("outside", ""))
    city.emergency_phone = str(phones.get("emergency", "911"))
    city.emergency_transfer = str(phones.get("emergency_transfer", ""))
    city.crisis_phone = str(phones.get("crisis", ""))
    city.unplaced_addresses = str(geocoder.get("unplaced_addresses") or "refuse")
    city.hours = hours.get("en", "")
    city.call_centre_hours = str(m.get("call_centre_hours") or "24/7")
    city.brand_name = branding.get("name") or ""
    city.logo = pack.logo
    city.logo_name = str(branding.get("logo") or "").rsplit("/", 1)[-1] if pack.logo else ""
    colors = branding.get("colors") or {}
    city.color_primary = colors.get("primary") or ""
    city.color_secondary = colors.get("secondary") or ""
    city.states = ",".join(geocoder.get("states") or [])
    city.state_names = ",".join(geocoder.get("state_names") or [])
    city.outside_names = "\n".join(geocoder.get("outside") or [])
    city.outside_referral = referral.get("en", "")
    city.history_module = (m.get("history") or {}).get("module", "")
    city.save()
    for language in sorted((set(hours) | set(referral)) - {"en"}):
        given = {"hours": hours.get(language, ""), "outside_referral": referral.get(language, "")}
        texts.add(city, {language: given})
    aliases = {str(a["alias"]): a for a in geocoder.get("aliases") or []}
    CityAlias.objects.filter(city=city).exclude(alias__in=list(aliases)).delete()
    for key, a in aliases.items():
        CityAlias.objects.update_or_create(
            city=city, alias=key, defaults={"part": a["city"], "soft": bool(a.get("soft"))}
        )


class _Texts:
    """Every translation the pack gives, written at the end in bulk: only what changed."""

    def __init__(self) -> None:
        # (content type id, object id, field, language) -> text ("" removes it)
        self.wanted: dict[tuple[int, int, str, str], str] = {}

    def add(self, row: Model, translations: dict[str, dict[str, str]] | None) -> None:
        """The pack's texts for `row`; a language the pack does not give keeps what is stored."""
        assert isinstance(row, Translated)
        content_type = ContentType.objects.get_for_model(row).pk
        for language, texts in (translations or {}).items():
            for name in row.translatable:
                text = str((texts or {}).get(name) or "").strip()
                self.wanted[(content_type, row.pk, name, str(language))] = text

    def write(self) -> None:
        if not self.wanted:
            return
        types = {key[0] for key in self.wanted}
        stored = {
            (t.content_type_id, t.object_id, t.field, t.language): t
            for t in Translation.objects.filter(content_type_id__in=types)
        }
        create, update, remove = [], [], []
        for (content_type, object_id, name, language), text in self.wanted.items():
            found = stored.get((content_type, object_id, name, language))
            if found is None and text:
                create.append(
                    Translation(
                        content_type_id=content_type,
                        object_id=object_id,
                        field=name,
                        language=language,
                        text=text,
                    )
                )
            elif found is not None and not text:
                remove.append(found.pk)
            elif found is not None and found.text != text:
                found.text = text
                update.append(found)
        Translation.objects.bulk_create(create, batch_size=500)
        Translation.objects.bulk_update(update, ["text"], batch_size=500)
        Translation.objects.filter(pk__in=remove).delete()


M = TypeVar("M", bound=Model)


def _upsert(
    model: type[M], existing: dict[Any, M], wanted: dict[Any, dict[str, Any]]
) -> dict[Any, M]:
    """Rows of `model` by natural key: `existing` ones updated where a value differs (same
    ids), the rest created; `wanted` maps each key to every field's value, key fields too."""
    create, update, fields = [], [], set()
    rows = {}
    for key, values in wanted.items():
        row = existing.get(key)
        if row is None:
            row = model(**values)
            create.append(row)
        else:
            changed = [f for f, v in values.items() if getattr(row, f) != v]
            for f in changed:
                setattr(row, f, values[f])
            if changed:
                update.append(row)
                fields.update(changed)
        rows[key] = row
    model.objects.bulk_create(create, batch_size=500)  # type: ignore[attr-defined]
    if update:
        model.objects.bulk_update(update, sorted(fields), batch_size=500)  # type: ignore[attr-defined]
    return rows


def _catalog(pack: Pack, texts: _Texts) -> tuple[int, int]:
    assert pack.catalog is not None
    given = pack.catalog.get("departments") or []
    departments = _upsert(
        Department,
        {d.slug: d for d in Department.objects.all()},
        {
            d["slug"]: {
                "slug": d["slug"],
                "name": d["name"],
                "email": d.get("email") or "",
                "phone": str(d.get("phone") or ""),
                "hours": d.get("hours") or "",
                "description": d.get("description") or "",
                "active": d.get("active", True),
            }
            for d in given
        },
    )
    for d in given:
        texts.add(departments[d["slug"]], d.get("translations"))
    departments |= {d.slug: d for d in Department.objects.exclude(slug__in=list(departments))}
    types = pack.catalog.get("service_types") or []
    by_code = _upsert(
        ServiceType,
        {t.service_code: t for t in ServiceType.objects.all()},
        {
            t["service_code"]: _type_fields(t, order, departments)
            for order, t in enumerate(types, 1)
        },
    )
    for t in types:
        texts.add(by_code[t["service_code"]], t.get("translations"))
    _attributes([(by_code[t["service_code"]], t.get("attributes") or []) for t in types], texts)
    _related(types)
    _phrases(pack)
    return len(given), len(types)


def _phrases(pack: Pack) -> None:
    """phrases.yaml replaces the listed types' example phrases; other types keep theirs."""
    for code, given in (pack.phrases or {}).items():
        ServiceType.objects.filter(service_code=code).update(examples=phrase_lines(given))


def _type_fields(
    t: dict[str, Any], order: int, departments: dict[str, Department]
) -> dict[str, Any]:
    department = departments.get(t.get("department") or "")
    return {
        "service_code": t["service_code"],
        "service_name": t["service_name"],
        "description": t.get("description") or "",
        "group": t.get("group") or "",
        "keywords": t.get("keywords") or "",
        "department_id": department.pk if department else None,
        "urgency": t.get("urgency", Urgency.NORMAL),
        "sla_amount": t.get("sla_amount"),
        "sla_unit": t.get("sla_unit", "calendar_days"),
        "location_required": t.get("location_required", True),
        "contact_required": t.get("contact_required", False),
        "referral": t.get("referral") or "",
        "duplicate_radius_m": t.get("duplicate_radius_m", 50),
        "duplicate_window_days": t.get("duplicate_window_days", 30),
        "display_order": order,
        "active": t.get("active", True),
    }


def _attributes(types: list[tuple[ServiceType, list[dict[str, Any]]]], texts: _Texts) -> None:
    """Each type's questions as listed: kept by code (same ids), the unlisted removed."""
    for service_type, given in types:
        service_type.attributes.exclude(code__in=[a["code"] for a in given]).delete()
    ids = [t.pk for t, _ in types]
    attributes = _upsert(
        ServiceAttribute,
        {
            (a.service_type_id, a.code): a
            for a in ServiceAttribute.objects.filter(service_type_id__in=ids)
        },
        {
            (t.pk, a["code"]): {
                "service_type_id": t.pk,
                "code": a["code"],
                "description": a["description"],
                "datatype": a.get("datatype", "string"),
                "datatype_description": a.get("datatype_description") or "",
                "required": a.get("required", False),
                "variable": a.get("variable", True),
                "order": order,
            }
            for t, given in types
            for order, a in enumerate(given, start=1)
        },
    )
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for t, given in types:
        for a in given:
            attribute = attributes[(t.pk, a["code"])]
            texts.add(attribute, a.get("translations"))
            values = a.get("values") or []
            keys = [v["key"] for v in values]
            AttributeValue.objects.filter(attribute=attribute).exclude(key__in=keys).delete()
            for order, v in enumerate(values, start=1):
                wanted[(attribute.pk, v["key"])] = {
                    "attribute_id": attribute.pk,
                    "key": v["key"],
                    "name": v["name"],
                    "order": order,
                }
    rows = _upsert(
        AttributeValue,
        {
            (v.attribute_id, v.key): v
            for v in AttributeValue.objects.filter(attribute__service_type_id__in=ids)
        },
        wanted,
    )
    for t, given in types:
        for a in given:
            attribute = attributes[(t.pk, a["code"])]
            for v in a.get("values") or []:
                texts.add(rows[(attribute.pk, v["key"])], v.get("translations"))


def _related(types: list[dict[str, Any]]) -> None:
    by_code = dict(ServiceType.objects.values_list("service_code", "pk"))
    through = ServiceType.related_types.through
    listed = [by_code[t["service_code"]] for t in types]
    wanted = {
        (by_code[t["service_code"]], by_code[c])
        for t in types
        for c in t.get("related_types") or []
    }
    stored = {
        (r.from_servicetype_id, r.to_servicetype_id): r.pk
        for r in through.objects.filter(from_servicetype_id__in=listed)
    }
    through.objects.filter(
        pk__in=[pk for pair, pk in stored.items() if pair not in wanted]
    ).delete()
    through.objects.bulk_create(
        [through(from_servicetype_id=a, to_servicetype_id=b) for a, b in wanted - set(stored)]
    )


def _calendar(pack: Pack) -> None:
    assert pack.calendar is not None
    hours = pack.calendar.get("hours")
    if hours is not None:
        BusinessHours.objects.all().delete()
        BusinessHours.objects.bulk_create(
            BusinessHours(
                weekday=WEEKDAYS.index(str(h["weekday"]).lower()),
                opens=time.fromisoformat(str(h["opens"]).zfill(5)),
                closes=time.fromisoformat(str(h["closes"]).zfill(5)),
            )
            for h in hours
        )
    for d in pack.calendar.get("holidays") or []:
        Holiday.objects.update_or_create(
            date=d["date"], defaults={"name": d["name"], "closed": d.get("closed", True)}
        )


def _geo_files(pack: Pack, applied: Applied, progress: Progress | None) -> None:
    importers = {
        "addresses": ("addresses", lambda p: import_addresses(p, progress=progress)),
        "places": ("places", import_places),
        "corners": ("intersections", import_intersections),
    }
    for stem, path in pack.geo.items():
        dataset, load = importers[stem]
        source = f"city pack {path.name} {_digest(path)}"
        # The same file as last time: keep its rows (and the index built on them).
        if GeoDataset.objects.filter(name=dataset, source=source[:300]).exists():
            applied.counts[stem] = GeoDataset.objects.get(name=dataset).rows
            continue
        applied.counts[stem] = load(path).loaded
        GeoDataset.objects.filter(name=dataset).update(source=source[:300])


def _digest(path: Any) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _routing(pack: Pack) -> int:
    assert pack.routing is not None
    departments = {d.slug: d for d in Department.objects.all()}
    types = {t.service_code: t for t in ServiceType.objects.all()}
    areas = {f"{b.kind}/{b.code}": b for b in Boundary.objects.all()}
    rules = pack.routing.get("rules") or []
    for rule in rules:
        area = areas.get(rule.get("area") or "")
        RoutingRule.objects.update_or_create(
            service_type=types.get(rule.get("service_type") or ""),
            group=rule.get("group") or "",
            area=area,
            defaults={
                "department": departments[rule["department"]],
                "priority": rule.get("priority", 100),
                "active": rule.get("active", True),
            },
        )
    return len(rules)


def _messages(pack: Pack) -> int:
    assert pack.messages is not None
    types = {t.service_code: t for t in ServiceType.objects.all()}
    templates = pack.messages.get("templates") or []
    for m in templates:
        MessageTemplate.objects.update_or_create(
            kind=m["kind"],
            language=m.get("language") or "en",
            service_type=types.get(m.get("service_type") or ""),
            defaults={part: str(m.get(part) or "") for part in ("subject", "text", "html", "sms")},
        )
    return len(templates)


def _staff(pack: Pack) -> tuple[int, list[User]]:
    assert pack.staff is not None
    roles.ensure_roles()
    groups = {g.name: g for g in Group.objects.all()}
    departments = {d.slug: d for d in Department.objects.all()}
    users = pack.staff.get("users") or []
    created = []
    for u in users:
        user, new = User.objects.get_or_create(username=u["username"])
        user.first_name = u.get("first_name") or ""
        user.last_name = u.get("last_name") or ""
        user.email = u.get("email") or ""
        user.is_active = u.get("active", True)
        user.is_staff = u["role"] == roles.ADMINISTRATOR
        if new:
            user.set_unusable_password()
            created.append(user)
        user.save()
        user.groups.set([groups[u["role"]]])
        slugs = u.get("departments") or []
        Membership.objects.filter(user=user).exclude(department__slug__in=slugs).delete()
        for slug in slugs:
            Membership.objects.get_or_create(user=user, department=departments[slug])
    return len(users), created
