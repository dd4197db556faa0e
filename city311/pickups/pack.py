"""A city pack's `pickups.yaml` (docs/city-pack.md): collections, routes and their schedules,
the holiday rule and dated exceptions. Checked, applied and exported by the pack code in
city311.cities.pack, which calls these three functions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from django.db.models import Model

from city311.pickups.models import (
    BookingRule,
    BulkyItem,
    Collection,
    ExceptionAction,
    HolidayRule,
    Route,
    RouteSchedule,
    ScheduleException,
    Slide,
)

# A week's Monday: schedules given without `starts` count from the first Monday of 2026.
DEFAULT_START = date(2026, 1, 5)
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
_CODE = re.compile(r"^[A-Za-z0-9_.-]+$")

AddProblem = Callable[[int | None, str], None]
AddTexts = Callable[[Model, dict[str, dict[str, str]]], None]


def _line(value: Any) -> int | None:
    return getattr(value, "line", None)


def _english_and_rest(value: Any) -> tuple[str, dict[str, str]]:
    """A text given as "..." or {en: ..., es: ...}: its English and its other languages."""
    if isinstance(value, dict):
        texts = {str(k): str(v or "") for k, v in value.items()}
        return texts.pop("en", ""), texts
    return str(value or ""), {}


def _schedule(value: Any) -> tuple[str, Any]:
    if isinstance(value, dict):
        return str(value.get("rule") or ""), value.get("starts", DEFAULT_START)
    return str(value or ""), DEFAULT_START


def check(data: dict[str, Any], add: AddProblem, areas: set[str]) -> None:
    """Every problem in pickups.yaml, with its line; `areas` are the kind/code the pack or the
    database has."""
    collections = set()
    for c in data.get("collections") or []:
        code, (name, _rest) = str(c.get("code") or ""), _english_and_rest(c.get("name"))
        if not _CODE.match(code) or not name:
            add(_line(c), "a collection needs a code (letters, digits, _ . -) and a name.")
        collections.add(code)
    rule = data.get("holiday_rule") or {}
    if rule and rule.get("slide", "none") not in Slide.values:
        add(_line(rule), f"holiday_rule slide must be one of {', '.join(Slide.values)}.")
    window = rule.get("window") if rule else None
    if window and not (
        _MONTH_DAY.match(str(window.get("from", "")))
        and _MONTH_DAY.match(str(window.get("to", "")))
        and isinstance(window.get("days"), int)
        and 0 < window["days"] < 14
    ):
        add(_line(window), 'a window is {from: "12-24", to: "01-02", days: 1} (1 to 13 days).')
    routes = set()
    for r in data.get("routes") or []:
        code = str(r.get("code") or "")
        if not _CODE.match(code) or code in routes:
            add(_line(r), f"route code {code!r} is missing, repeated or not letters and digits.")
        routes.add(code)
        if str(r.get("area") or "") not in areas:
            add(_line(r), f"{code}: no area {r.get('area')!r}: give kind/code of a boundary.")
        depot = r.get("depot")
        if depot is not None and not (
            isinstance(depot, list)
            and len(depot) == 2
            and all(isinstance(x, float | int) for x in depot)
        ):
            add(_line(r), f"{code}: depot is [lat, long].")
        for collection, value in (r.get("schedules") or {}).items():
            text, starts = _schedule(value)
            if collection not in collections:
                add(_line(r), f"{code}: no collection {collection!r} in collections.")
            if not isinstance(starts, date):
                add(_line(r), f"{code} {collection}: starts is a date such as 2026-01-05.")
                continue
            try:
                rrulestr(text, dtstart=starts)
            except (ValueError, TypeError):
                add(
                    _line(r),
                    f"{code} {collection}: rule {text!r} is not an RRULE such as "
                    "FREQ=WEEKLY;BYDAY=TU or FREQ=WEEKLY;INTERVAL=2;BYDAY=FR.",
                )
    for x in data.get("exceptions") or []:
        if not isinstance(x.get("date"), date):
            add(_line(x), "an exception needs a date such as 2027-01-05.")
        if x.get("action") not in ExceptionAction.values:
            add(_line(x), f"action must be one of {', '.join(ExceptionAction.values)}.")
        if x.get("action") == ExceptionAction.MOVE and not isinstance(x.get("to"), date):
            add(_line(x), "a moved collection needs the day it moves to: to: 2027-01-06.")
        if x.get("route") and str(x["route"]) not in routes:
            add(_line(x), f"no route {x['route']!r}.")
        if x.get("collection") and str(x["collection"]) not in collections:
            add(_line(x), f"no collection {x['collection']!r}.")
        if not _english_and_rest(x.get("reason"))[0]:
            add(_line(x), "an exception says why (reason), for the residents it changes.")
    _check_bookings(data.get("bookings"), add, collections)


_BOOKING_NUMBERS = (
    "window_days",
    "cutoff_working_days",
    "daily_capacity",
    "items_per_booking",
    "bookings_per_year",
    "reminder_hour",
)
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _check_bookings(b: Any, add: AddProblem, collections: set[str]) -> None:
    if not b:
        return
    if b.get("collection", "bulky") not in collections:
        add(_line(b), f"bookings: no collection {b.get('collection', 'bulky')!r} in collections.")
    if not b.get("service_type"):
        add(_line(b), "bookings: service_type is the code of the bulky service type.")
    for name in _BOOKING_NUMBERS:
        if name in b and not (isinstance(b[name], int) and 0 <= b[name] <= 10_000):
            add(_line(b), f"bookings: {name} is a whole number.")
    if "cutoff" in b and not _CLOCK.match(str(b["cutoff"])):
        add(_line(b), 'bookings: cutoff is a time such as "14:00".')
    if "fee" in b and _fee(b["fee"]) is None:
        add(_line(b), "bookings: fee is an amount such as 25 or 12.50 (0 when free).")
    if b.get("payment_url") and not str(b["payment_url"]).startswith(("https://", "http://")):
        add(_line(b), "bookings: payment_url is the address of the city's payment page.")
    seen = set()
    for item in b.get("items") or []:
        code, (name, _rest) = str(item.get("code") or ""), _english_and_rest(item.get("name"))
        if not _CODE.match(code) or not name or code in seen:
            add(_line(item), f"bookings item {code!r}: a new code (letters, digits) and a name.")
        seen.add(code)
        if "max" in item and not (isinstance(item["max"], int) and 0 < item["max"] < 100):
            add(_line(item), f"bookings item {code}: max is a number from 1 to 99.")
        if "fee" in item and _fee(item["fee"]) is None:
            add(_line(item), f"bookings item {code}: fee is an amount such as 25 or 12.50.")
        most = item.get("daily_capacity")
        if most is not None and not (isinstance(most, int) and 0 <= most <= 10_000):
            add(_line(item), f"bookings item {code}: daily_capacity is a whole number.")


def _fee(value: Any) -> Decimal | None:
    """A fee as the pack gives it (25, 12.5, "12.50"), or None when it is not an amount."""
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1000000"):
        return None
    return amount.quantize(Decimal("0.01"))


def apply(data: dict[str, Any], add_texts: AddTexts) -> int:
    """Write pickups.yaml; rows keep their ids on a second import. Returns the routes."""
    collections = {}
    for order, c in enumerate(data.get("collections") or []):
        name, rest = _english_and_rest(c.get("name"))
        row, _ = Collection.objects.update_or_create(
            code=c["code"], defaults={"name": name, "order": order}
        )
        add_texts(row, {lang: {"name": text} for lang, text in rest.items()})
        collections[row.code] = row
    rule = data.get("holiday_rule") or {}
    window = rule.get("window") or {}
    HolidayRule.objects.exclude(pk=1).delete()
    HolidayRule.objects.update_or_create(
        pk=1,
        defaults={
            "slide": rule.get("slide", Slide.NONE),
            "holidays": "\n".join(rule.get("holidays") or []),
            "window_start": window.get("from", ""),
            "window_end": window.get("to", ""),
            "window_days": window.get("days", 0),
        },
    )
    routes = {}
    for r in data.get("routes") or []:
        kind, _, code = str(r["area"]).partition("/")
        depot = r.get("depot") or [None, None]
        route, _ = Route.objects.update_or_create(
            code=r["code"],
            defaults={
                "name": r.get("name") or r["code"],
                "area_kind": kind,
                "area_code": code,
                "depot_lat": depot[0],
                "depot_long": depot[1],
            },
        )
        routes[route.code] = route
        wanted = {}
        for collection, value in (r.get("schedules") or {}).items():
            text, starts = _schedule(value)
            wanted[collection] = text
            RouteSchedule.objects.update_or_create(
                route=route,
                collection=collections.get(collection) or Collection.objects.get(code=collection),
                defaults={"rule": text, "starts": starts},
            )
        RouteSchedule.objects.filter(route=route).exclude(collection__code__in=wanted).delete()
    ScheduleException.objects.all().delete()
    for x in data.get("exceptions") or []:
        reason, rest = _english_and_rest(x.get("reason"))
        change = ScheduleException.objects.create(
            day=x["date"],
            action=x["action"],
            moved_to=x.get("to"),
            route=routes.get(x.get("route")) or Route.objects.filter(code=x.get("route")).first(),
            collection=Collection.objects.filter(code=x.get("collection")).first(),
            reason=reason,
        )
        add_texts(change, {lang: {"reason": text} for lang, text in rest.items()})
    _apply_bookings(data.get("bookings"), add_texts)
    return len(routes)


def _apply_bookings(b: Any, add_texts: AddTexts) -> None:
    if not b:
        return
    hours, _, minutes = str(b.get("cutoff", "14:00")).partition(":")
    BookingRule.objects.exclude(pk=1).delete()
    BookingRule.objects.update_or_create(
        pk=1,
        defaults={
            "collection_code": b.get("collection", "bulky"),
            "service_code": b["service_type"],
            "items_attribute": b.get("items_question", ""),
            "count_attribute": b.get("count_question", ""),
            "cutoff_time": time(int(hours), int(minutes)),
            "set_out": _english_and_rest(b.get("set_out"))[0] or BookingRule().set_out,
            "fee_per_booking": _fee(b.get("fee", 0)) or Decimal(0),
            "payment_url": str(b.get("payment_url") or ""),
            **{name: b[name] for name in _BOOKING_NUMBERS if name in b},
        },
    )
    codes = []
    for order, item in enumerate(b.get("items") or []):
        name, rest = _english_and_rest(item.get("name"))
        refused, refused_rest = _english_and_rest(item.get("refused"))
        row, _ = BulkyItem.objects.update_or_create(
            code=item["code"],
            defaults={
                "name": name,
                "max_per_booking": item.get("max", 2),
                "accepted": not refused,
                "refused_note": refused,
                "answer": item.get("answer", ""),
                "order": order,
                "fee": _fee(item.get("fee", 0)) or Decimal(0),
                "daily_capacity": item.get("daily_capacity"),
            },
        )
        texts = {lang: {"name": text} for lang, text in rest.items()}
        for lang, text in refused_rest.items():
            texts.setdefault(lang, {})["refused_note"] = text
        add_texts(row, texts)
        codes.append(row.code)
    BulkyItem.objects.exclude(code__in=codes).delete()


def export(texts_of: Callable[[Model, str], dict[str, str]]) -> dict[str, Any] | None:
    """pickups.yaml as `apply` reads it; None for a city with no routes. `texts_of(row, field)`
    gives {en: ..., es: ...}."""
    if not Route.objects.exists() and not Collection.objects.exists():
        return None
    data: dict[str, Any] = {
        "collections": [
            {"code": c.code, "name": texts_of(c, "name")} for c in Collection.objects.all()
        ]
    }
    rule = HolidayRule.objects.first()
    if rule is not None:
        data["holiday_rule"] = {"slide": rule.slide, "holidays": list(rule.names)}
        if rule.window_days:
            data["holiday_rule"]["window"] = {
                "from": rule.window_start,
                "to": rule.window_end,
                "days": rule.window_days,
            }
    data["routes"] = []
    for route in Route.objects.prefetch_related("schedules__collection"):
        entry: dict[str, Any] = {
            "code": route.code,
            "name": route.name,
            "area": f"{route.area_kind}/{route.area_code}",
        }
        if route.depot_lat is not None:
            entry["depot"] = [route.depot_lat, route.depot_long]
        entry["schedules"] = {
            s.collection.code: {"rule": s.rule, "starts": s.starts}
            for s in sorted(route.schedules.all(), key=lambda s: s.collection.code)
        }
        data["routes"].append(entry)
    exceptions = []
    for x in ScheduleException.objects.select_related("route", "collection"):
        entry = {"date": x.day, "action": x.action, "reason": texts_of(x, "reason")}
        if x.moved_to:
            entry["to"] = x.moved_to
        if x.route:
            entry["route"] = x.route.code
        if x.collection:
            entry["collection"] = x.collection.code
        exceptions.append(entry)
    if exceptions:
        data["exceptions"] = exceptions
    booking_rule = BookingRule.objects.first()
    if booking_rule is not None:
        data["bookings"] = _export_bookings(booking_rule, texts_of)
    return data


def _export_bookings(
    rule: BookingRule, texts_of: Callable[[Model, str], dict[str, str]]
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "collection": rule.collection_code,
        "service_type": rule.service_code,
        "cutoff": rule.cutoff_time.strftime("%H:%M"),
        "set_out": rule.set_out,
        **{name: getattr(rule, name) for name in _BOOKING_NUMBERS},
    }
    if rule.fee_per_booking:
        found["fee"] = str(rule.fee_per_booking)
    if rule.payment_url:
        found["payment_url"] = rule.payment_url
    if rule.items_attribute:
        found["items_question"] = rule.items_attribute
    if rule.count_attribute:
        found["count_question"] = rule.count_attribute
    found["items"] = []
    for item in BulkyItem.objects.all():
        entry: dict[str, Any] = {"code": item.code, "name": texts_of(item, "name")}
        if item.accepted:
            entry["max"] = item.max_per_booking
        else:
            entry["refused"] = texts_of(item, "refused_note")
        if item.answer:
            entry["answer"] = item.answer
        if item.fee:
            entry["fee"] = str(item.fee)
        if item.daily_capacity is not None:
            entry["daily_capacity"] = item.daily_capacity
        found["items"].append(entry)
    return found
