"""iCalendar feeds: an address's collection days, and one booking.

Built with `icalendar` through the facilities' calendar frame (METHOD:PUBLISH,
REFRESH-INTERVAL:P1D, X-PUBLISHED-TTL:P1D). Every day comes from the one engine, holidays and
exceptions applied. A collection's UID is sha1(address id, collection, planned day)@host: the
planned day, not the day it lands on, so when a holiday or a snow day moves a collection the
calendar app moves the same entry rather than adding a second one; regenerating the feed
changes no UID. DTSTAMP is fixed per entry (its planned day), so an unchanged feed is
byte-for-byte the same and caches by ETag.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta

from django.utils.translation import gettext as _
from icalendar import Calendar
from icalendar import Event as VEvent

from city311.cities import profile
from city311.facilities.feeds import calendar, ics_bytes
from city311.pickups.lookup import Place
from city311.pickups.models import Booking, BookingRule, RouteSchedule
from city311.pickups.routes import routes_at
from city311.pickups.schedule import Rule, Schedules

# How far a feed reaches: a month back (last week's moved day stays visible), a year ahead.
BACK, AHEAD = timedelta(days=31), timedelta(days=366)


def _uid(*parts: str, host: str) -> str:
    return hashlib.sha1("|".join(parts).encode()).hexdigest() + f"@{host}"


def _stamp(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=profile.zone())


def address_calendar(place: Place, *, today: date, host: str) -> bytes:
    """Every collection at the address from a month ago to a year ahead."""
    name = _("Collections at %(address)s") % {"address": place.label}
    cal = calendar(name, _("Trash, recycling and bulky-item days, holidays applied."))
    routes = routes_at(address_pk=place.address_pk, lat=place.lat, long=place.long)
    schedules = Schedules.current()
    key = place.address_id or f"{place.lat:.5f},{place.long:.5f}"
    for schedule in RouteSchedule.objects.filter(route__in=routes).select_related(
        "route", "collection"
    ):
        title = schedule.collection.translated("name")
        for pickup in schedules.pickups(Rule.of(schedule), today - BACK, today + AHEAD):
            entry = VEvent()
            entry.add("uid", _uid(key, pickup.collection, pickup.planned.isoformat(), host=host))
            entry.add("dtstamp", _stamp(pickup.planned))
            entry.add("dtstart", pickup.day)
            entry.add("dtend", pickup.day + timedelta(days=1))
            if pickup.cancelled:
                entry.add("summary", _("No collection: %(name)s") % {"name": title})
                entry.add("status", "CANCELLED")
            else:
                entry.add("summary", title)
            if pickup.note:
                entry.add("description", pickup.note)
            entry.add("categories", [pickup.collection])
            entry.add("transp", "TRANSPARENT")
            cal.add_component(entry)
    return ics_bytes(cal)


def booking_calendar(booking: Booking, *, host: str, url: str) -> bytes:
    """The booked pickup as one all-day entry, with what to set out and when."""
    rule = BookingRule.current()
    cal: Calendar = calendar(_("Bulky-item pickup"), rule.set_out)
    entry = VEvent()
    entry.add("uid", _uid("booking", booking.request.tracking_number, host=host))
    entry.add("dtstamp", _stamp(booking.created_at.date()))
    entry.add("dtstart", booking.day)
    entry.add("dtend", booking.day + timedelta(days=1))
    entry.add(
        "summary", _("Bulky-item pickup %(number)s") % {"number": booking.request.tracking_number}
    )
    entry.add("description", rule.set_out)
    entry.add("location", booking.request.address_string)
    entry.add("url", url)
    if booking.status == "cancelled":
        entry.add("status", "CANCELLED")
    cal.add_component(entry)
    return ics_bytes(cal)
