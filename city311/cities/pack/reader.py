"""Reading and checking a city pack (docs/city-pack.md) before anything is written.

`read_pack(folder)` returns the pack with every problem found, each with its file and line.
Nothing here touches the database's rows except to read which departments, types and areas
already exist (a pack may refer to them).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

import holidays as holidays_lib
from django.template import Template, TemplateSyntaxError

from city311.accounts import roles
from city311.catalog.models import (
    AttributeValue,
    Datatype,
    Department,
    ServiceAttribute,
    ServiceType,
    SlaUnit,
    Urgency,
)
from city311.cities.pack import knowledge
from city311.cities.pack.files import (
    FORMAT,
    Mapping,
    Problems,
    find,
    line_of,
    read_geojson,
    read_yaml,
)
from city311.cities.palette import PALETTE
from city311.facilities import pack as facilities_pack
from city311.geo.imports import GeoImportError, check_file
from city311.geo.models import Boundary, BoundaryKind
from city311.lib.languages import UnknownLanguage, named
from city311.notifications.models import MessageKind
from city311.pickups import pack as pickups_pack

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ROLES = [roles.CALL_TAKER, roles.DEPARTMENT_STAFF, roles.SUPERVISOR, roles.MANAGER]
ROLES.append(roles.ADMINISTRATOR)
LOGO_MAX_BYTES = 200 * 1024
_CODE = re.compile(r"^[A-Za-z0-9_.-]+$")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")
GEO_FILES = {"addresses": "addresses", "places": "places", "corners": "intersections"}


@dataclass
class BoundaryFile:
    kind: str
    path: Path
    name: str
    # (code, name, geometry, properties)
    features: list[tuple[str, str, dict[str, Any], dict[str, Any]]]


@dataclass
class Pack:
    folder: Path
    problems: Problems = field(default_factory=Problems)
    manifest: Mapping = field(default_factory=Mapping)
    catalog: Mapping | None = None
    routing: Mapping | None = None
    calendar: Mapping | None = None
    staff: Mapping | None = None
    messages: Mapping | None = None
    # phrases.yaml, read with the catalog: how residents describe each type.
    phrases: Mapping | None = None
    # (file name, article) for each article of knowledge.yaml or knowledge/*.yaml
    knowledge: list[tuple[str, Mapping]] | None = None
    # facilities.yaml and events.yaml (city311/facilities/pack.py)
    facilities: Mapping | None = None
    events: Mapping | None = None

    pickups: Mapping | None = None
    boundaries: list[BoundaryFile] = field(default_factory=list)
    # "addresses" | "places" | "corners" -> path
    geo: dict[str, Path] = field(default_factory=dict)
    logo: bytes = b""
    # The kind whose union is the city limits, when the boundaries are read.
    city_limits_from: str = ""


SECTIONS = frozenset(
    {
        "catalog",
        "routing",
        "calendar",
        "staff",
        "messages",
        "knowledge",
        "facilities",
        "events",
        "pickups",
        "boundaries",
        "addresses",
        "places",
        "corners",
    }
)


def read_pack(
    folder: Path, *, progress: Any = None, sections: frozenset[str] | set[str] = SECTIONS
) -> Pack:
    """The pack in `folder`, checked whole; `pack.problems` lists what must be fixed.

    `sections` limits what is read besides the manifest (the demo loads one part at a time
    for tests and benchmarks); `import_city` always reads them all.
    """
    pack = Pack(folder)
    if not folder.is_dir():
        pack.problems.add(str(folder), None, "is not a folder: give the city pack's folder.")
        return pack
    manifest_path = find(folder, "city")
    if manifest_path is None:
        pack.problems.add("city.yaml", None, "is missing: every pack starts with its manifest.")
        return pack
    manifest = read_yaml(manifest_path, manifest_path.name, pack.problems)
    if manifest is None:
        return pack
    pack.manifest = manifest
    _check_manifest(pack, manifest_path.name)
    for section in ("catalog", "routing", "calendar", "staff", "messages", "pickups"):
        path = find(folder, section) if section in sections else None
        if path is not None:
            setattr(pack, section, read_yaml(path, path.name, pack.problems))
            _refuse_passwords(getattr(pack, section), path.name, pack.problems)
    phrases_path = find(folder, "phrases") if "catalog" in sections else None
    if phrases_path is not None:
        pack.phrases = read_yaml(phrases_path, phrases_path.name, pack.problems)
    _refuse_passwords(manifest, manifest_path.name, pack.problems)
    if "boundaries" in sections:
        _check_boundaries(pack, manifest_path.name)
    _check_geo_files(pack, progress, sections)
    names = {s: (find(folder, s) or Path(s + ".yaml")).name for s in ("catalog", "routing")}
    departments, codes = _check_catalog(pack, names["catalog"])
    _check_routing(pack, names["routing"], departments, codes)
    _check_calendar(pack, (find(folder, "calendar") or Path("calendar.yaml")).name)
    _check_staff(pack, (find(folder, "staff") or Path("staff.yaml")).name, departments)
    _check_messages(pack, (find(folder, "messages") or Path("messages.yaml")).name, codes)
    _check_phrases(pack, (find(folder, "phrases") or Path("phrases.yaml")).name, codes)
    if "knowledge" in sections:
        _check_knowledge(pack, departments, codes)
    _read_facilities(pack, sections)

    if pack.pickups is not None:
        name = (find(folder, "pickups") or Path("pickups.yaml")).name
        pickups_pack.check(
            pack.pickups, lambda line, text: pack.problems.add(name, line, text), area_keys(pack)
        )
    return pack


def _check_knowledge(pack: Pack, departments: set[str], codes: set[str]) -> None:
    from city311.knowledge.models import Article

    pack.knowledge = knowledge.read(pack.folder, pack.problems)
    if pack.knowledge is None:
        return
    knowledge.check(
        pack.knowledge,
        departments=departments,
        codes=codes,
        languages=set(pack.manifest.get("languages") or ["en"]) - {"en"},
        existing_slugs=set(Article.objects.values_list("slug", flat=True)),
        problems=pack.problems,
    )


def _read_facilities(pack: Pack, sections: frozenset[str] | set[str]) -> None:
    names = []
    for section in ("facilities", "events"):
        path = find(pack.folder, section) if section in sections else None
        if path is not None:
            setattr(pack, section, read_yaml(path, path.name, pack.problems))
        names.append(path.name if path else f"{section}.yaml")
    facilities_pack.check(pack.facilities, pack.events, (names[0], names[1]), pack.problems)


# The manifest.


def _check_manifest(pack: Pack, name: str) -> None:
    m, add = pack.manifest, pack.problems.add
    if m.get("format") != FORMAT:
        add(name, 1, f"says format {m.get('format')!r}; this city311 reads format {FORMAT}.")
        return
    if not _text(m.get("name")):
        add(name, 1, "has no name: give the city's name (name: Springfield).")
    zone = _text(m.get("time_zone"))
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        add(name, 1, f"time_zone {zone!r} is not a time zone: use an IANA name (America/Chicago).")
    languages = m.get("languages", ["en"])
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        add(name, 1, "languages must be a list of language codes: [en, es].")
    else:
        try:
            named(languages)
        except UnknownLanguage as e:
            add(name, 1, f"languages: {e}")
    spec = _text(m.get("holidays"))
    if spec:
        country, _, subdiv = spec.partition("-")
        try:
            holidays_lib.country_holidays(country, subdiv=subdiv or None, years=2025)
        except NotImplementedError:
            add(name, 1, f"holidays {spec!r} is not a region the holidays package knows (US-IL).")
    _check_map(m.get("map"), name, pack.problems)
    grouping = (m.get("tracking_number") or {}).get("grouping", [3, 4, 3])
    if (
        not isinstance(grouping, list)
        or not all(isinstance(g, int) and g > 0 for g in grouping)
        or sum(grouping) != 10
        or len(grouping) > 3
    ):
        add(
            name,
            line_of(m.get("tracking_number")),
            "tracking_number grouping is at most 3 groups adding up to 10: [3, 4, 3].",
        )
    for key in ("phones", "branding", "geocoder"):
        if not isinstance(m.get(key, {}), dict):
            add(name, 1, f"{key} must be a mapping (key: value).")
            return
    for key in ("hours", "outside_referral"):
        if not isinstance(m.get(key, {}), dict | str):
            add(name, 1, f"{key} must be text, or a mapping of language to text (en: ...).")
    if m.get("call_centre_hours") is not None:
        from city311.contacts.hours import parse as parse_hours
        from city311.lib.openinghours import HoursError

        try:
            parse_hours(str(m["call_centre_hours"]))
        except HoursError as e:
            add(name, line_of(m["call_centre_hours"]) or 1, f"call_centre_hours: {e}")
    _check_branding(pack, name)
    _check_geocoder(m.get("geocoder") or {}, name, pack.problems)


def _check_map(view: Any, name: str, problems: Problems) -> None:
    if view is None:
        problems.add(name, 1, "has no map: give its centre and zoom (map: {center: [lat, long]}).")
        return
    center = view.get("center") if isinstance(view, dict) else None
    ok = (
        isinstance(center, list)
        and len(center) == 2
        and all(isinstance(c, int | float) for c in center)
        and -90 <= center[0] <= 90
        and -180 <= center[1] <= 180
    )
    if not ok:
        problems.add(name, line_of(view), "map center must be [latitude, longitude].")
    zoom = view.get("zoom", 11) if isinstance(view, dict) else None
    if not isinstance(zoom, int) or not 1 <= zoom <= 19:
        problems.add(name, line_of(view), "map zoom must be a whole number from 1 to 19.")


def _check_branding(pack: Pack, name: str) -> None:
    branding = pack.manifest.get("branding") or {}
    colors = branding.get("colors") or {}
    for key in ("primary", "secondary"):
        token = colors.get(key)
        if token and token not in PALETTE:
            pack.problems.add(
                name,
                line_of(colors) or line_of(branding),
                f"branding colour {token!r} is not a USWDS colour token of grade 50 or darker "
                "(blue-60v, green-cool-50v, red-60...): lighter ones are too faint for white text.",
            )
    logo = branding.get("logo")
    if logo:
        path = (pack.folder / str(logo)).resolve()
        if not path.is_relative_to(pack.folder.resolve()) or not path.is_file():
            pack.problems.add(name, line_of(branding), f"the logo file {logo} is not in the pack.")
        elif path.suffix.lower() not in (".svg", ".png"):
            pack.problems.add(name, line_of(branding), "the logo must be an .svg or .png file.")
        elif path.stat().st_size > LOGO_MAX_BYTES:
            pack.problems.add(name, line_of(branding), "the logo is over 200 KB: make it smaller.")
        else:
            pack.logo = path.read_bytes()


def _check_geocoder(geocoder: dict[str, Any], name: str, problems: Problems) -> None:
    if geocoder.get("unplaced_addresses", "refuse") not in ("refuse", "verify"):
        problems.add(
            name,
            line_of(geocoder),
            "geocoder unplaced_addresses must be refuse (ask which address was meant) or "
            "verify (accept, marked “location to verify”).",
        )
    for key in ("states", "state_names", "outside"):
        value = geocoder.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.add(name, line_of(geocoder), f"geocoder {key} must be a list of names.")
    aliases = geocoder.get("aliases", [])
    if not isinstance(aliases, list):
        problems.add(name, line_of(geocoder), "geocoder aliases must be a list.")
        return
    seen = set()
    for alias in aliases:
        if (
            not isinstance(alias, dict)
            or not _text(alias.get("alias"))
            or not _text(alias.get("city"))
        ):
            problems.add(name, line_of(alias), "an alias needs alias and city: {alias: BK, ...}.")
            continue
        if alias["alias"].upper() in seen:
            problems.add(name, line_of(alias), f"alias {alias['alias']!r} is given twice.")
        seen.add(alias["alias"].upper())


def _refuse_passwords(data: Any, name: str, problems: Problems) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if "password" in str(key).lower():
                problems.add(
                    name,
                    line_of(data),
                    "has a password: a pack never carries one (new staff get a link to set "
                    "their own). Remove it.",
                )
            _refuse_passwords(value, name, problems)
    elif isinstance(data, list):
        for item in data:
            _refuse_passwords(item, name, problems)


# Geography.


def _check_boundaries(pack: Pack, name: str) -> None:
    entries = pack.manifest.get("boundaries", [])
    if not isinstance(entries, list):
        pack.problems.add(name, 1, "boundaries must be a list of {kind, file}.")
        return
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("kind") or not entry.get("file"):
            pack.problems.add(name, line_of(entry), "a boundary entry needs kind and file.")
            continue
        kind = str(entry["kind"])
        if kind not in BoundaryKind.values:
            pack.problems.add(
                name,
                line_of(entry),
                f"boundary kind {kind!r} is not one of {', '.join(BoundaryKind.values)}.",
            )
            continue
        path = pack.folder / str(entry["file"])
        shown = str(entry["file"])
        if not path.is_file():
            message = f"the boundary file {shown} is not in the pack."
            pack.problems.add(name, line_of(entry), message)
            continue
        features = read_geojson(path, shown, pack.problems)
        if features is None:
            continue
        code_key, name_key = str(entry.get("code", "code")), str(entry.get("name", "name"))
        rows, codes = [], set()
        for number, feature in enumerate(features, start=1):
            props = (feature or {}).get("properties") or {}
            geometry = (feature or {}).get("geometry") or {}
            code, label = _text(props.get(code_key)), _text(props.get(name_key))
            where = f"feature {number}"
            if not code or not label:
                pack.problems.add(shown, None, f"{where} has no {code_key!r} or {name_key!r}.")
            elif code in codes:
                pack.problems.add(shown, None, f"{where}: the code {code!r} is used twice.")
            elif geometry.get("type") not in ("Polygon", "MultiPolygon"):
                pack.problems.add(shown, None, f"{where} is not a Polygon or MultiPolygon.")
            else:
                codes.add(code)
                rows.append((code, label, geometry, dict(props)))
        pack.boundaries.append(BoundaryFile(kind, path, shown, rows))
    union = pack.manifest.get("city_limits_from")
    pack.city_limits_from = str(union or "")
    if union and union not in {b.kind for b in pack.boundaries}:
        pack.problems.add(name, 1, f"city_limits_from names {union!r}, which no file gives.")


def _check_geo_files(pack: Pack, progress: Any, sections: frozenset[str] | set[str]) -> None:
    for stem, what in GEO_FILES.items():
        if stem not in sections:
            continue
        for suffix in (".csv", ".csv.gz", ".geojson", ".geojson.gz"):
            path = pack.folder / f"{stem}{suffix}"
            if path.exists():
                break
        else:
            continue
        try:
            problems = check_file(what, path, progress=progress if stem == "addresses" else None)
        except GeoImportError as e:
            pack.problems.add(path.name, None, str(e))
            continue
        for problem in problems:
            where, _, message = problem.partition(": ")
            line = int(where.split()[1]) if where.startswith("line ") else None
            label = path.name if line else f"{path.name} {where}"
            pack.problems.add(label, line, message)
        pack.geo[stem] = path


def area_keys(pack: Pack) -> set[str]:
    """`kind/code` of every area the pack gives or the database already has."""
    keys = {f"{b.kind}/{code}" for b in pack.boundaries for code, *_ in b.features}
    if pack.manifest.get("city_limits_from") or any(
        b.kind == BoundaryKind.CITY_LIMITS for b in pack.boundaries
    ):
        keys.add(f"{BoundaryKind.CITY_LIMITS}/city")
    given = {b.kind for b in pack.boundaries}
    keys |= {f"{k}/{c}" for k, c in Boundary.objects.values_list("kind", "code") if k not in given}
    return keys


# The catalog.


def _check_catalog(pack: Pack, name: str) -> tuple[set[str], set[str]]:
    """Check catalog.yaml; returns the department slugs and type codes that will exist."""
    departments = set(Department.objects.values_list("slug", flat=True))
    codes = set(ServiceType.objects.values_list("service_code", flat=True))
    data, add = pack.catalog, pack.problems.add
    if data is None:
        return departments, codes
    languages = set(pack.manifest.get("languages") or ["en"]) - {"en"}
    given: set[str] = set()
    for d in _list(data, "departments", name, pack.problems):
        slug = _text(d.get("slug"))
        if not slug or not _SLUG.match(slug):
            add(name, line_of(d), "a department needs a slug of letters, digits, - and _.")
        elif slug in given:
            add(name, line_of(d), f"the department {slug!r} is listed twice.")
        if not _text(d.get("name")):
            add(name, line_of(d), f"the department {slug!r} has no name.")
        given.add(slug)
        _check_translations(d, Department.translatable, languages, name, pack.problems)
    departments |= given
    types = _list(data, "service_types", name, pack.problems)
    type_codes = {_text(t.get("service_code")) for t in types}
    seen: set[str] = set()
    for t in types:
        code = _text(t.get("service_code"))
        if not code or not _CODE.match(code):
            add(name, line_of(t), "a service type needs a service_code of letters, digits, . - _.")
        elif code in seen:
            add(name, line_of(t), f"the service type {code!r} is listed twice.")
        seen.add(code)
        _check_type(t, code, departments, codes | type_codes, languages, name, pack.problems)
    return departments, codes | type_codes


def _check_type(
    t: Mapping,
    code: str,
    departments: set[str],
    codes: set[str],
    languages: set[str],
    name: str,
    problems: Problems,
) -> None:
    line, add = line_of(t), problems.add
    if not _text(t.get("service_name")):
        add(name, line, f"{code}: service_name is missing.")
    urgency = t.get("urgency", Urgency.NORMAL)
    if urgency not in Urgency.values:
        add(name, line, f"{code}: urgency {urgency!r} is not one of {', '.join(Urgency.values)}.")
    department = t.get("department")
    if department and department not in departments:
        add(name, line, f"{code}: no department {department!r}; list it under departments.")
    if not department and urgency != Urgency.EMERGENCY:
        add(name, line, f"{code}: give the department that handles it.")
    if t.get("sla_unit", SlaUnit.CALENDAR_DAYS) not in SlaUnit.values:
        add(name, line, f"{code}: sla_unit must be calendar_days or business_hours.")
    amount = t.get("sla_amount")
    if amount is not None and (not isinstance(amount, int) or amount < 0):
        add(name, line, f"{code}: sla_amount must be a whole number, or left out for no target.")
    for other in t.get("related_types") or []:
        if other not in codes:
            add(name, line, f"{code}: related type {other!r} is not a service type.")
    _check_translations(t, ServiceType.translatable, languages, name, problems)
    attribute_codes: set[str] = set()
    for a in t.get("attributes") or []:
        if not isinstance(a, dict):
            add(name, line, f"{code}: each attribute is a mapping (code: ..., description: ...).")
            continue
        a_code = _text(a.get("code"))
        if not a_code or not _CODE.match(a_code) or a_code in attribute_codes:
            add(name, line_of(a), f"{code}: question code {a_code!r} is missing or repeated.")
        attribute_codes.add(a_code)
        if not _text(a.get("description")):
            add(name, line_of(a), f"{code}.{a_code}: the question's description is missing.")
        if a.get("datatype", "string") not in Datatype.values:
            add(
                name,
                line_of(a),
                f"{code}.{a_code}: datatype {a.get('datatype')!r} is not one of "
                f"{', '.join(Datatype.values)}.",
            )
        _check_translations(a, ServiceAttribute.translatable, languages, name, problems)
        keys: set[str] = set()
        for v in a.get("values") or []:
            key = _text(v.get("key")) if isinstance(v, dict) else ""
            if not key or key in keys or not _text(v.get("name")):
                add(name, line_of(v), f"{code}.{a_code}: each choice needs a unique key and name.")
                continue
            keys.add(key)
            _check_translations(v, AttributeValue.translatable, languages, name, problems)


def _check_translations(
    row: dict[str, Any], fields: tuple[str, ...], languages: set[str], name: str, problems: Problems
) -> None:
    translations = row.get("translations") or {}
    if not isinstance(translations, dict):
        problems.add(name, line_of(row), "translations must map a language to its texts.")
        return
    for language, texts in translations.items():
        if language not in languages:
            problems.add(
                name,
                line_of(texts) or line_of(row),
                f"translations in {language!r}, which the manifest's languages do not list.",
            )
        unknown = set(texts or {}) - set(fields) if isinstance(texts, dict) else {"?"}
        if unknown:
            problems.add(
                name,
                line_of(texts) or line_of(row),
                f"only {', '.join(fields)} can be translated here, "
                f"not {', '.join(sorted(unknown))}.",
            )


# Routing, calendar, staff.


def _check_routing(pack: Pack, name: str, departments: set[str], codes: set[str]) -> None:
    if pack.routing is None:
        return
    areas = area_keys(pack)
    seen: set[tuple[str, str, str]] = set()
    for rule in _list(pack.routing, "rules", name, pack.problems):
        line, add = line_of(rule), pack.problems.add
        code, group = _text(rule.get("service_type")), _text(rule.get("group"))
        if bool(code) == bool(group):
            add(name, line, "a rule names either a service_type or a group, not both.")
        elif code and code not in codes:
            add(name, line, f"no service type {code!r}.")
        area = _text(rule.get("area"))
        if area and area not in areas:
            add(name, line, f"no area {area!r}: give kind/code of a boundary in the pack.")
        if rule.get("department") not in departments:
            add(name, line, f"no department {rule.get('department')!r}.")
        key = (code, group, area)
        if key in seen:
            add(name, line, "this rule repeats another's service type or group and area.")
        seen.add(key)


def _check_calendar(pack: Pack, name: str) -> None:
    if pack.calendar is None:
        return
    add = pack.problems.add
    for h in _list(pack.calendar, "hours", name, pack.problems):
        opens, closes = str(h.get("opens", "")), str(h.get("closes", ""))
        if str(h.get("weekday", "")).lower() not in WEEKDAYS:
            add(name, line_of(h), f"weekday {h.get('weekday')!r} is not a day name (monday).")
        if not _TIME.match(opens) or not _TIME.match(closes):
            add(name, line_of(h), 'opens and closes are times such as "08:00" and "17:00".')
        elif time.fromisoformat(closes.zfill(5)) <= time.fromisoformat(opens.zfill(5)):
            add(name, line_of(h), "closes must be after opens.")
    for d in _list(pack.calendar, "holidays", name, pack.problems):
        if not isinstance(d.get("date"), date) or not _text(d.get("name")):
            add(name, line_of(d), "a holiday needs a date (2026-03-17) and a name.")


def _check_staff(pack: Pack, name: str, departments: set[str]) -> None:
    if pack.staff is None:
        return
    add = pack.problems.add
    seen: set[str] = set()
    for u in _list(pack.staff, "users", name, pack.problems):
        username = _text(u.get("username"))
        if not username or username in seen:
            add(name, line_of(u), f"username {username!r} is missing or repeated.")
        seen.add(username)
        if u.get("role") not in ROLES:
            add(name, line_of(u), f"{username}: role must be one of {', '.join(ROLES)}.")
        for slug in u.get("departments") or []:
            if slug not in departments:
                add(name, line_of(u), f"{username}: no department {slug!r}.")


def _check_messages(pack: Pack, name: str, codes: set[str]) -> None:
    if pack.messages is None:
        return
    add, seen = pack.problems.add, set()
    for m in _list(pack.messages, "templates", name, pack.problems):
        kind, language = m.get("kind"), _text(m.get("language") or "en")
        if kind not in MessageKind.values:
            add(name, line_of(m), f"kind {kind!r} is not one of {', '.join(MessageKind.values)}.")
        code = _text(m.get("service_type"))
        if code and code not in codes:
            add(name, line_of(m), f"no service type {code!r}.")
        if (kind, language, code) in seen:
            add(name, line_of(m), f"a second {kind} message in {language!r}: keep one.")
        seen.add((kind, language, code))
        for part in ("subject", "text", "html", "sms"):
            try:
                Template(str(m.get(part) or ""))
            except TemplateSyntaxError as e:
                add(name, line_of(m), f"{kind} {part}: {e}")


def _check_phrases(pack: Pack, name: str, codes: set[str]) -> None:
    """phrases.yaml: {service_code: [phrase, ...]} or {service_code: {language: [phrase, ...]}}."""
    if pack.phrases is None:
        return
    add = pack.problems.add
    for code, given in pack.phrases.items():
        if code not in codes:
            add(name, line_of(pack.phrases), f"no service type {code!r}.")
        lists = list(given.values()) if isinstance(given, dict) else [given]
        for phrases in lists:
            if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
                add(name, line_of(pack.phrases), f"{code}: give a list of phrases (text).")
            elif any("\n" in p for p in phrases):
                add(name, line_of(pack.phrases), f"{code}: one line per phrase.")


def phrase_lines(given: Any) -> str:
    """A type's phrases as stored (`ServiceType.examples`): one per line, languages in turn."""
    lists = list(given.values()) if isinstance(given, dict) else [given]
    return "\n".join(" ".join(str(p).split()) for phrases in lists for p in phrases or [])


def _list(data: Mapping, key: str, name: str, problems: Problems) -> list[Mapping]:
    items = data.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        problems.add(name, line_of(data), f"{key} must be a list of mappings.")
        return []
    return items


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""
