"""The city pack's `facilities.yaml` (facilities and their hours) and `events.yaml` (events
and City-today notices): checked, applied and exported here, called by `cities/pack`.

Format: docs/city-pack.md, "facilities.yaml" and "events.yaml". Times are the city's
wall-clock time. Facilities, events and notices are matched by slug (notices by key); a
facility's hours and exceptions in the pack replace those stored.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from city311.facilities.events import RecurrenceError, check_recurrence
from city311.facilities.models import (
    Audience,
    Event,
    EventCategory,
    Facility,
    FacilityKind,
    HolidayRule,
    HoursException,
    Notice,
    NoticeKind,
    OpeningRule,
)
from city311.lib.openinghours import WEEKDAY_CODES, HoursError, Season, Span

if TYPE_CHECKING:
    from city311.cities.pack.apply import _Texts
    from city311.cities.pack.files import Mapping, Problems

_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")


def parse_days(text: str) -> tuple[int, int]:
    """ "Mo-Fr" -> (0, 4); "Sa" -> (5, 5); "Fr-Mo" wraps past Sunday."""
    parts = str(text).split("-")
    try:
        if len(parts) not in (1, 2):
            raise ValueError
        first, last = (WEEKDAY_CODES.index(p.strip().capitalize()) for p in (parts[0], parts[-1]))
    except ValueError:
        raise HoursError(
            f"{text!r}: write days as Mo, Tu, We, Th, Fr, Sa, Su or a range such as Mo-Fr."
        ) from None
    return first, last


def days_text(first: int, last: int) -> str:
    return (
        WEEKDAY_CODES[first] if first == last else f"{WEEKDAY_CODES[first]}-{WEEKDAY_CODES[last]}"
    )


def _time(value: Any) -> time:
    text = str(value)
    if text == "24:00":
        return time(0)
    if not _TIME.match(text):
        raise HoursError(f"{text!r}: write times as HH:MM (24:00 for midnight).")
    return time.fromisoformat(text.zfill(5))


def _day(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise HoursError(f"{value!r}: write dates as YYYY-MM-DD.") from None


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)
    except ValueError:
        raise HoursError(
            f"{value!r}: write times as YYYY-MM-DDTHH:MM, in the city's time."
        ) from None


def _clock(value: time) -> str:
    return "24:00" if value == time(0) else f"{value:%H:%M}"


def _lines(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value or "")


# Checking.


def _rows(data: Mapping | None, key: str) -> list[Any]:
    return list(data.get(key) or []) if data is not None else []


def check(
    facilities: Mapping | None, events: Mapping | None, names: tuple[str, str], problems: Problems
) -> None:
    """Add every problem in the two files to `problems`, with file and line."""
    from city311.cities.pack.files import line_of

    slugs: set[str] = set()
    name = names[0]
    for f in _rows(facilities, "facilities"):
        line = line_of(f)
        slug = str(f.get("slug") or "")
        if not _SLUG.match(slug):
            problems.add(
                name, line, f"{slug!r}: a facility needs a slug of letters, digits and dashes."
            )
        slugs.add(slug)
        if not f.get("name"):
            problems.add(name, line, f"{slug}: a facility needs a name.")
        if f.get("kind") not in FacilityKind.values:
            problems.add(
                name, line, f"{slug}: kind must be one of {', '.join(FacilityKind.values)}."
            )
        point = f.get("point")
        if point is not None and not (
            isinstance(point, list)
            and len(point) == 2
            and all(isinstance(p, int | float) for p in point)
        ):
            problems.add(name, line, f"{slug}: point is [latitude, longitude].")
        rule = f.get("holidays", "closed")
        if not (rule in ("closed", "usual") or isinstance(rule, dict)):
            problems.add(
                name, line, f"{slug}: holidays is closed, usual or {{opens: HH:MM, closes: HH:MM}}."
            )
        try:
            if isinstance(rule, dict):
                Span(_time(rule.get("opens")), _time(rule.get("closes")))
            for h in f.get("hours") or []:
                parse_days(h.get("days", ""))
                Span(_time(h.get("opens")), _time(h.get("closes")))
                if h.get("season"):
                    Season.parse(str(h["season"]))
            for x in f.get("exceptions") or []:
                first, last = _day(x.get("first_day")), _day(x.get("last_day", x.get("first_day")))
                if last < first:
                    raise HoursError(f"the exception from {first} ends before it starts ({last}).")
                if not x.get("closed", True):
                    Span(_time(x.get("opens")), _time(x.get("closes")))
                if not x.get("reason"):
                    raise HoursError(
                        f"the exception from {first} needs a reason residents can read."
                    )
        except HoursError as error:
            problems.add(name, line, f"{slug}: {error}")
    known = slugs | set(Facility.objects.values_list("slug", flat=True))
    name = names[1]
    for e in _rows(events, "events"):
        line = line_of(e)
        slug = str(e.get("slug") or "")
        if not _SLUG.match(slug) or not e.get("title"):
            problems.add(
                name,
                line,
                f"{slug!r}: an event needs a slug (letters, digits, dashes) and a title.",
            )
        if e.get("category") not in EventCategory.values:
            problems.add(
                name, line, f"{slug}: category must be one of {', '.join(EventCategory.values)}."
            )
        if e.get("audience", "everyone") not in Audience.values:
            problems.add(
                name, line, f"{slug}: audience must be one of {', '.join(Audience.values)}."
            )
        if e.get("facility") and e["facility"] not in known:
            problems.add(
                name,
                line,
                f"{slug}: there is no facility {e['facility']!r} in the pack or the city.",
            )
        try:
            if _moment(e.get("ends")) <= _moment(e.get("starts")):
                problems.add(name, line, f"{slug}: the event must end after it starts.")
            check_recurrence(str(e.get("recurrence") or ""))
        except (HoursError, RecurrenceError) as error:
            problems.add(name, line, f"{slug}: {error}")
    for n in _rows(events, "notices"):
        line = line_of(n)
        key = str(n.get("key") or "")
        if not _SLUG.match(key) or not n.get("title"):
            problems.add(
                name, line, f"{key!r}: a notice needs a key (letters, digits, dashes) and a title."
            )
        if n.get("kind") not in NoticeKind.values:
            problems.add(name, line, f"{key}: kind must be one of {', '.join(NoticeKind.values)}.")
        try:
            if _day(n.get("last_day", n.get("first_day"))) < _day(n.get("first_day")):
                problems.add(name, line, f"{key}: the notice ends before it starts.")
        except HoursError as error:
            problems.add(name, line, f"{key}: {error}")


# Applying.


def _translations(row: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {
        str(language): {k: _lines(v) for k, v in (texts or {}).items()}
        for language, texts in (row.get("translations") or {}).items()
    }


def apply(
    facilities: Mapping | None, events: Mapping | None, texts: _Texts, zone: Any
) -> dict[str, int]:
    """Write what the two files hold; returns counts. Runs inside the pack's transaction."""
    counts: dict[str, int] = {}
    if facilities is not None:
        counts["facilities"] = _apply_facilities(facilities.get("facilities") or [], texts)
    if events is not None:
        counts["events"] = _apply_events(events.get("events") or [], texts, zone)
        counts["notices"] = _apply_notices(events.get("notices") or [], texts)
    return counts


def _apply_facilities(rows: list[dict[str, Any]], texts: _Texts) -> int:
    for f in rows:
        point = f.get("point") or [None, None]
        rule = f.get("holidays", "closed")
        special = isinstance(rule, dict)
        facility, _created = Facility.objects.update_or_create(
            slug=f["slug"],
            defaults={
                "name": f["name"],
                "kind": f["kind"],
                "description": str(f.get("description") or ""),
                "features": _lines(f.get("features")),
                "address": str(f.get("address") or ""),
                "lat": point[0],
                "long": point[1],
                "phone": str(f.get("phone") or ""),
                "url": str(f.get("url") or ""),
                "holiday_rule": HolidayRule.HOURS if special else rule,
                "holiday_opens": _time(rule["opens"]) if special else None,
                "holiday_closes": _time(rule["closes"]) if special else None,
                "active": bool(f.get("active", True)),
            },
        )
        texts.add(facility, _translations(f))
        facility.rules.all().delete()
        OpeningRule.objects.bulk_create(
            OpeningRule(
                facility=facility,
                first_day=parse_days(h["days"])[0],
                last_day=parse_days(h["days"])[1],
                opens=_time(h["opens"]),
                closes=_time(h["closes"]),
                season=str(h.get("season") or ""),
            )
            for h in f.get("hours") or []
        )
        facility.exceptions.all().delete()
        for x in f.get("exceptions") or []:
            closed = bool(x.get("closed", True))
            row = HoursException.objects.create(
                facility=facility,
                first_day=_day(x["first_day"]),
                last_day=_day(x.get("last_day", x["first_day"])),
                closed=closed,
                opens=None if closed else _time(x["opens"]),
                closes=None if closed else _time(x["closes"]),
                reason=str(x["reason"]),
            )
            texts.add(row, _translations(x))
    return len(rows)


def _apply_events(rows: list[dict[str, Any]], texts: _Texts, zone: Any) -> int:
    facilities = dict(Facility.objects.values_list("slug", "pk"))
    for e in rows:
        event, _created = Event.objects.update_or_create(
            slug=e["slug"],
            defaults={
                "title": e["title"],
                "description": str(e.get("description") or ""),
                "category": e["category"],
                "facility_id": facilities.get(e.get("facility") or ""),
                "place": str(e.get("place") or ""),
                "starts_at": _moment(e["starts"]).replace(tzinfo=zone),
                "ends_at": _moment(e["ends"]).replace(tzinfo=zone),
                "recurrence": str(e.get("recurrence") or ""),
                "audience": e.get("audience", Audience.EVERYONE),
                "language": str(e.get("language") or "en"),
                "active": bool(e.get("active", True)),
            },
        )
        texts.add(event, _translations(e))
    return len(rows)


def _apply_notices(rows: list[dict[str, Any]], texts: _Texts) -> int:
    for n in rows:
        notice, _created = Notice.objects.update_or_create(
            key=n["key"],
            defaults={
                "kind": n["kind"],
                "title": n["title"],
                "body": str(n.get("body") or ""),
                "first_day": _day(n["first_day"]),
                "last_day": _day(n.get("last_day", n["first_day"])),
            },
        )
        texts.add(notice, _translations(n))
    return len(rows)


# Exporting.


def _texts_of(row: Any, translated: Any, *, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    found = translated(row)
    if not found:
        return {}
    out = {
        language: {k: (v.splitlines() if k in lists else v) for k, v in fields.items()}
        for language, fields in found.items()
    }
    return {"translations": out}


def export(translated: Any, zone: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(facilities.yaml, events.yaml) contents, or None for a file with nothing to write.
    `translated(row)` gives a row's translations as export.py reads them."""
    facilities = []
    rows = Facility.objects.order_by("slug").prefetch_related("rules", "exceptions")
    for f in rows:
        rule: Any = f.holiday_rule
        if rule == HolidayRule.HOURS:
            rule = {"opens": _clock(f.holiday_opens), "closes": _clock(f.holiday_closes)}  # type: ignore[arg-type]
        item: dict[str, Any] = {
            "slug": f.slug,
            "name": f.name,
            "kind": f.kind,
            "address": f.address,
        }
        if f.lat is not None:
            item["point"] = [f.lat, f.long]
        for key in ("phone", "url", "description"):
            if getattr(f, key):
                item[key] = getattr(f, key)
        if f.features:
            item["features"] = f.features.splitlines()
        item["holidays"] = rule
        item["hours"] = [
            {
                "days": days_text(r.first_day, r.last_day),
                "opens": _clock(r.opens),
                "closes": _clock(r.closes),
            }
            | ({"season": r.season} if r.season else {})
            for r in sorted(f.rules.all(), key=lambda r: r.pk)
        ]
        exceptions = []
        for x in sorted(f.exceptions.all(), key=lambda x: x.pk):
            entry: dict[str, Any] = {
                "first_day": x.first_day,
                "last_day": x.last_day,
                "closed": x.closed,
            }
            if not x.closed:
                entry |= {"opens": _clock(x.opens), "closes": _clock(x.closes)}  # type: ignore[arg-type]
            entry["reason"] = x.reason
            exceptions.append(entry | _texts_of(x, translated))
        if exceptions:
            item["exceptions"] = exceptions
        if not f.active:
            item["active"] = False
        facilities.append(item | _texts_of(f, translated, lists=("features",)))
    events = []
    for e in Event.objects.order_by("slug").select_related("facility"):
        item = {
            "slug": e.slug,
            "title": e.title,
            "category": e.category,
            "starts": e.starts_at.astimezone(zone)
            .replace(tzinfo=None)
            .isoformat(timespec="minutes"),
            "ends": e.ends_at.astimezone(zone).replace(tzinfo=None).isoformat(timespec="minutes"),
        }
        if e.description:
            item["description"] = e.description
        if e.facility is not None:
            item["facility"] = e.facility.slug
        if e.place:
            item["place"] = e.place
        if e.recurrence:
            item["recurrence"] = e.recurrence
        item["audience"] = e.audience
        item["language"] = e.language
        if not e.active:
            item["active"] = False
        events.append(item | _texts_of(e, translated))
    notices = [
        {
            "key": n.key,
            "kind": n.kind,
            "title": n.title,
            "body": n.body,
            "first_day": n.first_day,
            "last_day": n.last_day,
        }
        | _texts_of(n, translated)
        for n in Notice.objects.order_by("key")
    ]
    events_file = {"events": events, "notices": notices} if events or notices else None
    return ({"facilities": facilities} if facilities else None), events_file
