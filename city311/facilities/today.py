"""City today: what changes on one day — public holidays, facility closures and changed hours,
notices (parking rules, collection, suspended services) and events — like NYC's "311 Today"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.urls import reverse
from django.utils.translation import gettext as _

from city311.cities import profile
from city311.facilities import hours
from city311.facilities.events import occurrences
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
    city = profile.current()
    city_days = hours.own_days() if city_days is None else city_days
    found: list[Item] = []
    holiday = engine.holiday_name(
        engine.Schedule(rules=(), zone=city.time_zone, holidays=city.holidays, city_days=city_days),
        day,
    )
    if holiday:
        found.append(
            Item(
                "holiday",
                f"holiday-{day.isoformat()}",
                _("Public holiday: %(name)s") % {"name": holiday},
                _("City offices are closed. Facilities keep their holiday hours; check each one."),
                reverse("facilities:list"),
            )
        )
    exceptions = HoursException.objects.filter(first_day__lte=day, last_day__gte=day)
    for x in exceptions.select_related("facility").prefetch_related("translations"):
        name = x.facility.translated("name")
        if x.closed:
            title = _("%(name)s is closed") % {"name": name}
        else:
            title = _("%(name)s: changed hours, %(hours)s") % {
                "name": name,
                "hours": hours.spans_text(hours._spans(x.opens, x.closes)),
            }
        until = _("until %(date)s") % {"date": hours.long_date(x.last_day)}
        found.append(
            Item(
                "closure" if x.closed else "hours",
                f"exception-{x.pk}",
                title,
                f"{x.translated('reason')} ({until})",
                reverse("facilities:facility", args=[x.facility.slug]),
            )
        )
    notices = Notice.objects.filter(first_day__lte=day, last_day__gte=day)
    for n in notices.prefetch_related("translations"):
        found.append(
            Item(
                n.kind,
                f"notice-{n.key}",
                n.translated("title"),
                n.translated("body"),
                reverse("facilities:today"),
            )
        )
    start = datetime.combine(day, time(0), tzinfo=city.zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=city.zone)
    events = Event.objects.filter(active=True).select_related("facility")
    for event in events.prefetch_related("translations", "facility__translations"):
        for o in occurrences(event, start, end):
            where = event.where
            found.append(
                Item(
                    "event",
                    f"event-{o.key}",
                    event.translated("title"),
                    f"{hours.clock(o.starts.time())}, {where}"
                    if where
                    else hours.clock(o.starts.time()),
                    reverse("facilities:event", args=[event.slug]),
                    o.starts,
                    o.ends,
                )
            )
    order = {"holiday": 0, "closure": 1, "hours": 2, "event": 9}
    return sorted(found, key=lambda i: (order.get(i.kind, 5), i.starts or start, i.title))
