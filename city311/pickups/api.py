"""The pickups' JSON API for apps and partners: the items, the days an address may book, and
making, reading, changing and cancelling a booking by its secret token.

Thin: the same actions as the portal's pages (actions.book_pickup, cancel_booking,
change_booking), the same days (booking.offer, from the one engine), the same per-hour limits
(booking_views.spend), so the rules cannot differ between the page and the API. Bad input is a
400 whose `error` says what to send and whose `field` names it; over a limit, a 429 with
Retry-After. No session, no cookie: the POST is exempt from CSRF, and a booking is reached
only by its token. The resident's contact is never in an answer.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any, TypedDict

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from city311.geo.models import AddressPoint
from city311.pickups import actions
from city311.pickups.booking import Day, cutoff, offer
from city311.pickups.booking_views import spend
from city311.pickups.lookup import find_place, point_by_id
from city311.pickups.models import Booking, BookingRule, BulkyItem
from city311.pickups.schedule import Schedules
from city311.servicerequests.models import Channel


class Problem(Exception):
    def __init__(self, message: str, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


def _error(problem: Problem | actions.BookingError, status: int = 400) -> JsonResponse:
    body = {"error": problem.message}
    if problem.field:
        body["field"] = problem.field
    return JsonResponse(body, status=getattr(problem, "status", status))


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


# Items and days


class ItemJson(TypedDict):
    code: str
    name: str
    max_per_booking: int
    fee: str
    daily_capacity: int | None


@require_GET
def items(request: HttpRequest) -> JsonResponse:
    """What may be booked, its limits and fees; what is refused and where to take it."""
    rule = BookingRule.current()
    accepted: list[ItemJson] = []
    refused = []
    for item in BulkyItem.objects.all():
        if item.accepted:
            accepted.append(
                {
                    "code": item.code,
                    "name": item.translated("name"),
                    "max_per_booking": item.max_per_booking,
                    "fee": _money(item.fee),
                    "daily_capacity": item.daily_capacity,
                }
            )
        else:
            refused.append(
                {
                    "code": item.code,
                    "name": item.translated("name"),
                    "where": item.translated("refused_note"),
                }
            )
    return JsonResponse(
        {
            "items": accepted,
            "refused": refused,
            "items_per_booking": rule.items_per_booking,
            "fee_per_booking": _money(rule.fee_per_booking),
            "window_days": rule.window_days,
        }
    )


def _point(request: HttpRequest) -> AddressPoint:
    address, address_id = request.GET.get("address", ""), request.GET.get("address_id", "")
    if not address and not address_id:
        raise Problem(_("Give ?address_id= (from /api/geocode) or ?address=."), "address_id")
    found = find_place(address=address, address_id=address_id.strip()[:60])
    if found.problem:
        raise Problem(found.problem, "address_id")
    if found.place is None or found.place.address_pk is None:
        raise Problem(_("Several addresses match: send one address_id."), "address_id")
    return AddressPoint.objects.get(pk=found.place.address_pk)


def _day_json(day: Day, rule: BookingRule, schedules: Schedules) -> dict[str, Any]:
    return {
        "date": day.day.isoformat(),
        "left": day.left,
        "note": day.note,
        "book_before": cutoff(rule, schedules, day.day).isoformat(),
        "items_left": day.items_left,
    }


@require_GET
def days(request: HttpRequest) -> JsonResponse:
    """The days an address may book, earliest first, with the places left and until when."""
    try:
        point = _point(request)
    except Problem as e:
        return _error(e)
    rule = BookingRule.current()
    found = offer(
        lat=point.lat, long=point.long, address_pk=point.pk, now=timezone.now(), rule=rule
    )
    if found.problem:
        return _error(Problem(found.problem, "address_id"))
    assert found.route is not None
    schedules = Schedules.load()
    return JsonResponse(
        {
            "address_id": point.source_id,
            "route": found.route.code,
            "days": [_day_json(d, rule, schedules) for d in found.days],
        }
    )


# Bookings


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Problem(_('Send a JSON object, such as {"day": "2027-06-02"}.')) from None
    if not isinstance(data, dict):
        raise Problem(_('Send a JSON object, such as {"day": "2027-06-02"}.'))
    return data


def _text(data: dict[str, Any], name: str, most: int) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Problem(_("%(field)s must be text.") % {"field": name}, name)
    return value.strip()[:most]


def _date(data: dict[str, Any], name: str = "day") -> date:
    value = data.get(name)
    try:
        if isinstance(value, str):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise Problem(_("%(field)s must be a date such as 2027-06-02.") % {"field": name}, name)


def _items(data: dict[str, Any]) -> dict[str, int]:
    given = data.get("items")
    if not isinstance(given, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in given.items()
    ):
        raise Problem(_('items is an object of item codes and counts: {"couch": 1}.'), "items")
    return {k[:40]: v for k, v in given.items()}


def booking_json(booking: Booking, request: HttpRequest) -> dict[str, Any]:
    """A booking as its holder sees it: never the contact."""
    names = {i.code: i.translated("name") for i in BulkyItem.objects.filter(code__in=booking.items)}
    deadline = actions.manage_deadline(booking)
    return {
        "reference": booking.request.tracking_number,
        "status": booking.status,
        "date": booking.day.isoformat(),
        "route": booking.route.code,
        "address": booking.request.address_string,
        "items": [
            {"code": code, "name": names.get(code, code), "count": count}
            for code, count in booking.items.items()
        ],
        "place": booking.place,
        "fee": _money(booking.fee),
        "payment": booking.payment,
        "change_before": deadline.isoformat(),
        "manage_url": booking.manage_url,
        "token": booking.token,
    }


@csrf_exempt
@never_cache
@require_http_methods(["POST"])
def bookings(request: HttpRequest) -> JsonResponse:
    """Book: {"address_id", "day", "items": {code: count}, "place", "first_name", "last_name",
    "email", "phone", "language"}. 201 with the booking and its token."""
    try:
        data = _body(request)
        if not isinstance(data.get("address_id"), str) or not data["address_id"].strip():
            raise Problem(_("Give address_id (from /api/geocode)."), "address_id")
        point = point_by_id(data["address_id"].strip()[:60])
        if point is None:
            raise Problem(
                _("No address has that id: search for the address instead."), "address_id"
            )
        day, items = _date(data), _items(data)
        email, phone = _text(data, "email", 254), _text(data, "phone", 30)
        who = actions.Who(
            _text(data, "first_name", 100),
            _text(data, "last_name", 100),
            email,
            phone,
            _text(data, "language", 8) or get_language() or "en",
        )
        place = _text(data, "place", 200)
    except Problem as e:
        return _error(e)
    limited = spend(request, [email, phone])
    if limited is not None:
        response = JsonResponse(
            {
                "error": _("Too many bookings from you in a short time: try again after %(time)s.")
                % {"time": limited.retry_at.isoformat()},
                "retry_after": limited.retry_after_s,
            },
            status=429,
        )
        response["Retry-After"] = str(limited.retry_after_s)
        return response
    try:
        booking = actions.book_pickup(
            point, day=day, items=items, place=place, who=who, channel=Channel.MOBILE_APP
        )
    except actions.BookingError as e:
        return _error(e)
    return JsonResponse(booking_json(booking, request), status=201)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "PATCH", "DELETE"])
def booking(request: HttpRequest, token: str) -> JsonResponse:
    """GET a booking by its token; PATCH {"day", "items"} to change it; DELETE to cancel it
    (both up to the cut-off, as the confirmation page)."""
    found = Booking.objects.select_related("request", "route").filter(token=token[:48]).first()
    if found is None:
        return JsonResponse({"error": _("No booking has that token.")}, status=404)
    try:
        if request.method == "DELETE":
            found = actions.cancel_booking(found)
        elif request.method == "PATCH":
            data = _body(request)
            day = _date(data) if "day" in data else found.day
            changed = _items(data) if "items" in data else None
            found = actions.change_booking(found, day=day, items=changed)
    except (Problem, actions.BookingError) as e:
        return _error(e)
    found.refresh_from_db()
    return JsonResponse(booking_json(found, request))
