"""City today: what changes on one day — public holidays, facility closures and changed hours,
notices (parking rules, collection, suspended services) and events — like NYC's "311 Today"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.urls import reverse
from django.utils.translation import gettext as _

from city311.cities import profile
from city311.facilities import holidaynames, hours
from city311.facilities.events import Occurrence, occurrences
from city311.facilities.models import Event, HoursException, Notice
from city311.lib import openinghours as engine


@dataclass(frozen=True)
class Item:
    # "holiday" | "closure" | "hours" | a NoticeKind value | "event"
    kind: str
    key: str
    title: str
    body: str
    url: str
    starts: datetime | None = None
    ends: datetime | None = None


def items_for(day: date, *, city_days: tuple[tuple[date, bool], ...] | None = None) -> list[Item]:
    """Everything residents should know about `day`, in a stable order."""
    return items_between(day, day, city_days=city_days)[day]


def items_between(
    first: date, last: date, *, city_days: tuple[tuple[date, bool], ...] | None = None
) -> dict[date, list[Item]]:
    """`items_for` of every day from `first` to `last`, read in one query per kind."""
    city = profile.current()
    city_days = hours.own_days() if city_days is None else city_days
    calendar = engine.Schedule(
        rules=(), zone=city.time_zone, holidays=city.holidays, city_days=city_days
    )
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    found: dict[date, list[Item]] = {day: [] for day in days}
    for day in days:
        holiday = holidaynames.localized(
            engine.holiday_name(calendar, day), region=city.holidays, day=day
        )
        if holiday:
            found[day].append(_holiday(day, holiday))
    exceptions = HoursException.objects.filter(first_day__lte=last, last_day__gte=first)
    for x in exceptions.select_related("facility").prefetch_related(
        "translations", "facility__translations"
    ):
        item = _exception(x)
        for day in days:
            if x.first_day <= day <= x.last_day:
                found[day].append(item)
    notices = Notice.objects.filter(first_day__lte=last, last_day__gte=first)
    for n in notices.prefetch_related("translations"):
        item = Item(
            n.kind,
            f"notice-{n.key}",
            n.translated("title"),
            n.translated("body"),
            reverse("facilities:today"),
        )
        for day in days:
            if n.first_day <= day <= n.last_day:
                found[day].append(item)
    start = datetime.combine(first, time(0), tzinfo=city.zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=city.zone)
    events = Event.objects.filter(active=True).select_related("facility")
    for event in events.prefetch_related("translations", "facility__translations"):
        for o in occurrences(event, start, end):
            day = o.starts.astimezone(city.zone).date()
            if day in found:
                found[day].append(_event(o))
    order = {"holiday": 0, "closure": 1, "hours": 2, "event": 9}
    return {
        day: sorted(items, key=lambda i: (order.get(i.kind, 5), i.starts or start, i.title))
        for day, items in found.items()
    }


def _holiday(day: date, name: str) -> Item:
    return Item(
        "holiday",
        f"holiday-{day.isoformat()}",
        _("Public holiday: %(name)s") % {"name": name},
        _("City offices are closed. Facilities keep their holiday hours; check each one."),
        reverse("facilities:list"),
    )


def _exception(x: HoursException) -> Item:
    name = x.facility.translated("name")
    if x.closed:
        title = _("%(name)s is closed") % {"name": name}
    else:
        spans = hours.spans_text(hours.exception_of(x).spans)
        title = _("%(name)s: changed hours, %(hours)s") % {"name": name, "hours": spans}
    until = _("until %(date)s") % {"date": hours.long_date(x.last_day)}
    return Item(
        "closure" if x.closed else "hours",
        # The facility and first day, not the row's id: re-importing the pack recreates the
        # rows, and a calendar entry's UID must not change with it.
        f"exception-{x.facility.slug}-{x.first_day.isoformat()}",
        title,
        f"{x.translated('reason')} ({until})",
        reverse("facilities:facility", args=[x.facility.slug]),
    )


def _event(o: Occurrence) -> Item:
    event = o.event
    where = event.where
    at = hours.clock(o.starts.time())
    return Item(
        "event",
        f"event-{o.key}",
        event.translated("title"),
        f"{at}, {where}" if where else at,
        reverse("facilities:event", args=[event.slug]),
        o.starts,
        o.ends,
    )
