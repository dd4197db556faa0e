"""The one schedule engine: the days each route is collected, holidays and exceptions applied.

Every answer about a collection day (the lookup page, the API, calendars, bookings, reminders,
the crews' lists) comes from `Schedules.pickups`; no other code computes a collection day.

A route's rule plans a day; the city's holiday rule may move or cancel it (none, the holiday's
own day a day later, the rest of the holiday's week a day later as Los Angeles does, or
cancelled; or, within a window such as Christmas, every collection some days later); then a
dated exception (a snow suspension, a strike, an extra day) may cancel, move or add one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from city311.catalog.cache import attach_texts, catalog
from city311.catalog.calendar import public_holidays
from city311.catalog.models import Holiday
from city311.pickups.models import (
    ExceptionAction,
    HolidayRule,
    RouteSchedule,
    ScheduleException,
    Slide,
)

# The furthest a holiday rule or a window moves a day: planned days this far outside a range
# are read too, so a day moved into the range is not missed.
_REACH = timedelta(days=21)


@dataclass(frozen=True)
class Pickup:
    day: date
    collection: str
    route: str
    planned: date  # the day the route's rule gave, before holidays and exceptions
    note: str = ""  # why it is not on the planned day, in the active language
    cancelled: bool = False


@dataclass(frozen=True)
class Rule:
    """A route's schedule for one collection, as the engine needs it."""

    route: str
    collection: str
    rule: str
    starts: date

    @classmethod
    def of(cls, schedule: RouteSchedule) -> Rule:
        return cls(schedule.route.code, schedule.collection.code, schedule.rule, schedule.starts)


class Schedules:
    """The city's holiday rule and exceptions, loaded once; then pure computation."""

    def __init__(
        self,
        holiday_rule: HolidayRule | None,
        region: str,
        exceptions: list[ScheduleException] | None = None,
        own_days: dict[date, tuple[str, bool]] | None = None,
    ) -> None:
        """`own_days`: the city's own calendar (catalog Holiday rows): day -> (name, closed);
        closed=False makes a public holiday an ordinary day."""
        self.slide = holiday_rule.slide if holiday_rule else Slide.NONE
        self.names = holiday_rule.names if holiday_rule else ()
        self.window = _window(holiday_rule)
        self.region = region
        self.exceptions = exceptions or []
        self.own_days = own_days or {}
        # next_pickups' answers: see there.
        self._next: dict[tuple[Rule, date, int, str | None], tuple[Pickup, ...]] = {}

    @classmethod
    def load(cls) -> Schedules:
        """Read the city's holiday rule, exceptions and holidays now (three queries)."""
        # Imported here: the city's profile is an app above this one's models.
        from city311.cities import profile

        exceptions = attach_texts(
            list(ScheduleException.objects.select_related("route", "collection"))
        )
        own = {h.date: (h.name, h.closed) for h in Holiday.objects.all()}
        return cls(HolidayRule.objects.first(), profile.current().holidays, exceptions, own)

    @classmethod
    def current(cls) -> Schedules:
        """The engine this process shares between lookups: loaded once per catalog version.

        Reading the rule, the exceptions and the holidays was most of a lookup's time
        (bench/pickup_lookup.py). Every change to them moves the catalog's version token in
        its transaction (pickups/apps.py connects the rows' saves and deletes, the pack loader
        bumps once), so a change made in this process shows at once and one made in another
        within CITY311_CATALOG_RECHECK_SECONDS, as catalog changes do. Shared between threads:
        read it, never change it. Bookings and route changes read `load()`, fresh."""
        return catalog().derived("pickups.schedules", cls.load)

    # Holidays.

    def holiday(self, day: date) -> str:
        """The collection holiday on `day` (its name), or ""."""
        if day in self.own_days:
            name, closed = self.own_days[day]
            name = name if closed else ""
        else:
            name = public_holidays(day.year, self.region).get(day, "") if self.region else ""
        if name and self.names and not any(name.startswith(n) for n in self.names):
            return ""
        return name

    # Days.

    def pickups(self, rule: Rule, start: date, end: date) -> list[Pickup]:
        """Every collection of `rule` from `start` to `end` (both included), in day order;
        a cancelled one is listed with `cancelled` set, so pages can say why."""
        found = []
        for planned in _planned(rule, start - _REACH, end + _REACH):
            pickup = self._exception(rule, self._holiday_moved(rule, planned))
            if pickup is not None and start <= pickup.day <= end:
                found.append(pickup)
        for extra in self.exceptions:
            if (
                extra.action == ExceptionAction.EXTRA
                and self._applies(extra, rule)
                and start <= extra.day <= end
            ):
                reason = extra.translated("reason")
                found.append(Pickup(extra.day, rule.collection, rule.route, extra.day, reason))
        return sorted(found, key=lambda p: (p.day, p.cancelled))

    def next_pickups(self, rule: Rule, after: date, count: int = 3) -> list[Pickup]:
        """The next `count` collections on or after `after` (cancelled ones listed, not counted).

        Remembered per rule, day, count and language: the shared engine (`current`) answers
        every lookup of a day with the same few routes' days, and working them out (holiday
        rules walked day by day) was a third of a lookup's CPU (bench/pickup_lookup.py
        --profile). The engine is dropped with its catalog version, so a change is never
        answered from here; the memo is emptied past 20,000 answers (any ?from= may be asked)."""
        key = (rule, after, count, get_language())
        known = self._next.get(key)
        if known is None:
            if len(self._next) > 20_000:
                self._next.clear()
            known = self._next[key] = tuple(self._next_pickups(rule, after, count))
        return list(known)

    def _next_pickups(self, rule: Rule, after: date, count: int) -> list[Pickup]:
        found: list[Pickup] = []
        start = after
        while sum(not p.cancelled for p in found) < count and start < after + timedelta(days=800):
            end = start + timedelta(days=62)
            found.extend(self.pickups(rule, start, end))
            start = end + timedelta(days=1)
        kept, counted = [], 0
        for pickup in found:
            if counted == count:
                break
            kept.append(pickup)
            counted += not pickup.cancelled
        return kept

    def day_for(self, planned: date, route: str = "", collection: str = "") -> Pickup:
        """What becomes of one collection the rules plan for `planned`."""
        rule = Rule(route, collection, "", planned)
        return self._exception(rule, self._holiday_moved(rule, planned)) or Pickup(
            planned, collection, route, planned
        )

    def _holiday_moved(self, rule: Rule, planned: date) -> Pickup:
        if self.window and _in_window(planned, self.window):
            moved = planned + timedelta(days=self.window[2])
            note = _("Holiday schedule: %(days)s day(s) later.") % {"days": self.window[2]}
            return Pickup(moved, rule.collection, rule.route, planned, note)
        if self.slide == Slide.REST_OF_WEEK and planned.weekday() < 5:
            monday = planned - timedelta(days=planned.weekday())
            for day in _days(monday, planned):
                if day.weekday() < 5 and (name := self.holiday(day)):
                    note = _("A day later this week: %(holiday)s.") % {"holiday": name}
                    return Pickup(
                        planned + timedelta(days=1), rule.collection, rule.route, planned, note
                    )
        if self.slide == Slide.OWN_DAY and (name := self.holiday(planned)):
            moved = planned + timedelta(days=1)
            while self.holiday(moved):
                moved += timedelta(days=1)
            note = _("A day later: %(holiday)s.") % {"holiday": name}
            return Pickup(moved, rule.collection, rule.route, planned, note)
        if self.slide == Slide.SKIP and (name := self.holiday(planned)):
            note = _("No collection: %(holiday)s.") % {"holiday": name}
            return Pickup(planned, rule.collection, rule.route, planned, note, cancelled=True)
        return Pickup(planned, rule.collection, rule.route, planned)

    def _exception(self, rule: Rule, pickup: Pickup) -> Pickup | None:
        if pickup.cancelled:
            return pickup
        for change in self.exceptions:
            if change.day != pickup.day or not self._applies(change, rule):
                continue
            reason = change.translated("reason")
            if change.action == ExceptionAction.CANCEL:
                return Pickup(pickup.day, rule.collection, rule.route, pickup.planned, reason, True)
            if change.action == ExceptionAction.MOVE and change.moved_to:
                return Pickup(change.moved_to, rule.collection, rule.route, pickup.planned, reason)
        return pickup

    @staticmethod
    def _applies(change: ScheduleException, rule: Rule) -> bool:
        return (change.route is None or change.route.code == rule.route) and (
            change.collection is None or change.collection.code == rule.collection
        )


@functools.lru_cache(maxsize=4096)
def _recurrence(rule: str, starts: date) -> Any:
    # Parsing an RRULE costs more than expanding a few months of it; a city has few rules.
    return rrulestr(rule, dtstart=datetime.combine(starts, time()))


def _planned(rule: Rule, start: date, end: date) -> tuple[date, ...]:
    return _expanded(rule.rule, rule.starts, start, end)


@functools.lru_cache(maxsize=8192)
def _expanded(rule: str, starts: date, start: date, end: date) -> tuple[date, ...]:
    # rrule walks from its start every time: a year-old weekly rule is a hundred steps per
    # question, a fifth of a lookup (bench/pickup_lookup.py). The answer depends only on the
    # arguments, and lookups on one day ask the same windows of the city's few rules.
    recurrence = _recurrence(rule, starts)
    first, last = datetime.combine(start, time()), datetime.combine(end, time())
    return tuple(moment.date() for moment in recurrence.between(first, last, inc=True))


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _window(rule: HolidayRule | None) -> tuple[tuple[int, int], tuple[int, int], int] | None:
    if rule is None or not (rule.window_start and rule.window_end and rule.window_days):
        return None
    start, end = (
        tuple(int(x) for x in md.split("-")) for md in (rule.window_start, rule.window_end)
    )
    return (start[0], start[1]), (end[0], end[1]), rule.window_days  # type: ignore[return-value]


def _in_window(day: date, window: tuple[tuple[int, int], tuple[int, int], int]) -> bool:
    start, end, _days_later = window
    here = (day.month, day.day)
    if start <= end:
        return start <= here <= end
    return here >= start or here <= end  # a window over the new year: 24 Dec - 17 Jan
