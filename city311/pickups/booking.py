"""Which days an address may book a bulky-item pickup, and until when.

A bookable day is a day the engine (schedule.py) gives the address's route for the booked
collection: not cancelled, not a holiday, within the city's window, before its cut-off (14:00
the working day before, counted in working days that skip weekends and holidays, as
WasteWorks' Peterborough does), and with capacity left. Capacity is only *shown* here: it is
taken in one atomic step when booking (actions.take_slot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from city311.cities import profile
from city311.pickups.models import (
    BookingRule,
    BulkyItem,
    Route,
    RouteDay,
    RouteDayItem,
    RouteSchedule,
)
from city311.pickups.routes import routes_at
from city311.pickups.schedule import Rule, Schedules


@dataclass(frozen=True)
class Day:
    day: date
    left: int
    note: str = ""  # why it is not the route's usual day (a holiday slide)
    planned: date | None = None  # the day the route's rule gave (see Booking.planned)
    # For each item kind with a daily capacity of its own: how many more the day takes.
    items_left: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Offer:
    """What an address may book: its route and days, or why it cannot."""

    route: Route | None
    days: list[Day]
    problem: str = ""


def working_day(schedules: Schedules, day: date) -> bool:
    return day.weekday() < 5 and not schedules.holiday(day)


def cutoff(rule: BookingRule, schedules: Schedules, day: date) -> datetime:
    """The moment bookings, changes and cancellations for `day` close (city time)."""
    moment = day
    counted = 0
    while counted < max(rule.cutoff_working_days, 1):
        moment -= timedelta(days=1)
        counted += working_day(schedules, moment)
    return datetime.combine(moment, rule.cutoff_time, tzinfo=profile.zone())


def bulky_schedule(routes: list[Route], rule: BookingRule) -> RouteSchedule | None:
    return (
        RouteSchedule.objects.filter(route__in=routes, collection__code=rule.collection_code)
        .select_related("route", "collection")
        .first()
    )


def offer(
    *, lat: float, long: float, address_pk: int | None, now: datetime, rule: BookingRule
) -> Offer:
    """The days the address may book from `now`, earliest first."""
    schedule = bulky_schedule(routes_at(address_pk=address_pk, lat=lat, long=long), rule)
    if schedule is None:
        return Offer(None, [], _("Bulky items are not collected by appointment at this address."))
    schedules = Schedules.load()
    return Offer(schedule.route, open_days(schedule, rule, schedules, now))


def open_days(
    schedule: RouteSchedule, rule: BookingRule, schedules: Schedules, now: datetime
) -> list[Day]:
    today = now.astimezone(profile.zone()).date()
    last = today + timedelta(days=rule.window_days)
    planned = [
        p
        for p in schedules.pickups(Rule.of(schedule), today + timedelta(days=1), last)
        if not p.cancelled and not schedules.holiday(p.day)
    ]
    taken = {
        d.day: d
        for d in RouteDay.objects.filter(route=schedule.route, day__gte=today, day__lte=last).only(
            "day", "capacity", "booked"
        )
    }
    limited = item_capacities()
    items_taken: dict[tuple[date, str], int] = {}
    if limited:
        for counted in RouteDayItem.objects.filter(
            route=schedule.route, day__gte=today, day__lte=last, item__in=limited
        ):
            items_taken[counted.day, counted.item] = counted.booked
    found = []
    for p in planned:
        if now >= cutoff(rule, schedules, p.day):
            continue
        row = taken.get(p.day)
        left = (row.capacity - row.booked) if row else rule.daily_capacity
        if left > 0:
            items_left = {
                code: max(0, most - items_taken.get((p.day, code), 0))
                for code, most in limited.items()
            }
            found.append(Day(p.day, left, p.note, p.planned, items_left))
    return found


def item_capacities() -> dict[str, int]:
    """{item code: items a route takes a day} for the kinds with a capacity of their own."""
    return {
        item.code: item.daily_capacity
        for item in BulkyItem.objects.filter(accepted=True, daily_capacity__isnull=False).only(
            "code", "daily_capacity"
        )
        if item.daily_capacity is not None
    }
