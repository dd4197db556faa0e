"""A facility's hours through the one engine (`lib/openinghours.py`), and in words.

`schedule_for(facility)` turns the facility's rows into the engine's plain `Schedule`;
`status(facility)` answers "open now?" with the next change; `status_text` is the one line a
search result or answer card shows beside a facility.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import formats, timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from city311.catalog.models import Holiday
from city311.cities import profile
from city311.facilities import holidaynames
from city311.facilities.models import Facility, HolidayRule, HoursException
from city311.lib import openinghours as engine
from city311.lib.openinghours import DayHours, Exception_, Rule, Schedule, Season, Span


def _spans(opens: time | None, closes: time | None) -> tuple[Span, ...]:
    if opens is None or closes is None:
        return ()
    return (Span(opens, closes),)


def exception_of(row: HoursException) -> Exception_:
    spans = () if row.closed else _spans(row.opens, row.closes)
    return Exception_(row.first_day, row.last_day, spans, row.reason, key=str(row.pk))


def schedule_for(
    facility: Facility, *, city_days: tuple[tuple[date, bool], ...] | None = None
) -> Schedule:
    """The facility's hours as the engine reads them (uses prefetched rules and exceptions)."""
    city = profile.current()
    rules = tuple(
        Rule(r.weekdays, (Span(r.opens, r.closes),), Season.parse(r.season) if r.season else None)
        for r in facility.rules.all()
    )
    holiday_spans: tuple[Span, ...] | None
    if facility.holiday_rule == HolidayRule.USUAL:
        holiday_spans = None
    elif facility.holiday_rule == HolidayRule.HOURS:
        holiday_spans = _spans(facility.holiday_opens, facility.holiday_closes)
    else:
        holiday_spans = ()
    if city_days is None:
        city_days = own_days()
    return Schedule(
        rules=rules,
        zone=city.time_zone,
        holidays=city.holidays,
        holiday_spans=holiday_spans,
        exceptions=tuple(exception_of(x) for x in facility.exceptions.all()),
        city_days=city_days,
    )


def own_days() -> tuple[tuple[date, bool], ...]:
    """The city's own holiday decisions (catalog `Holiday` rows), as the SLA calendar reads them."""
    return tuple(sorted(Holiday.objects.values_list("date", "closed")))


@dataclass(frozen=True)
class Status:
    open: bool
    # When it closes (if open) or next opens (if closed); None: not within two years.
    change: datetime | None
    today: DayHours
    text: str


def now_local() -> datetime:
    return timezone.now().astimezone(profile.current().zone)


def status(
    facility: Facility, at: datetime | None = None, schedule: Schedule | None = None
) -> Status:
    """Open at `at` (default now)? With when that changes, in words."""
    schedule = schedule or schedule_for(facility)
    at = (at or now_local()).astimezone(schedule.tz)
    is_open = engine.is_open(schedule, at)
    change = engine.next_change(schedule, at)
    today = engine.day_hours(schedule, at.date())
    return Status(is_open, change, today, _status_text(facility, is_open, change, today, at))


def _status_text(
    facility: Facility, is_open: bool, change: datetime | None, today: DayHours, at: datetime
) -> str:
    if is_open:
        if change is None:
            return _("Open now")
        if change.date() == at.date() or change.time() == time(0):
            return _("Open now until %(time)s") % {"time": clock(change.time())}
        return _("Open now until %(when)s") % {"when": moment(change, at)}
    reason = ""
    if today.exception is not None and today.exception.closed:
        reason = _("Closed today: %(reason)s.") % {"reason": reason_of(facility, today.exception)}
    elif today.holiday and today.closed:
        reason = _("Closed today for %(holiday)s.") % {"holiday": holiday_text(today)}
    elif today.seasonal_closure:
        reason = _("Closed for the season.")
    if change is None:
        return " ".join(filter(None, [reason, _("Closed; no opening is scheduled.")]))
    return " ".join(
        filter(
            None, [reason or _("Closed now."), _("Opens %(when)s") % {"when": moment(change, at)}]
        )
    )


def holiday_text(day: DayHours) -> str:
    """The day's public holiday, named in the active language ("" if none)."""
    return holidaynames.localized(day.holiday, region=profile.current().holidays, day=day.day)


def reason_of(facility: Facility, exc: Exception_) -> str:
    """The exception's reason in the active language, from the facility's prefetched rows."""
    for row in facility.exceptions.all():
        if str(row.pk) == exc.key:
            return row.translated("reason")
    return exc.reason


def clock(value: time) -> str:
    """A time of day as residents read it in the active language ("7 p.m.", "19:00")."""
    if value == time(0):
        return _("midnight")
    return formats.time_format(value, "TIME_FORMAT")


def day_name(day: date) -> str:
    return str(WEEKDAYS[day.weekday()])


def moment(when: datetime, now: datetime) -> str:
    """ "at 9 a.m." today, "tomorrow at 9 a.m.", "Saturday at 9 a.m.", or a date further off."""
    days = (when.date() - now.date()).days
    at = clock(when.time())
    if days == 0:
        return _("today at %(time)s") % {"time": at}
    if days == 1:
        return _("tomorrow at %(time)s") % {"time": at}
    if days < 7:
        return _("%(day)s at %(time)s") % {"day": day_name(when.date()), "time": at}
    return _("%(date)s at %(time)s") % {"date": long_date(when.date()), "time": at}


def long_date(day: date) -> str:
    return f"{day_name(day)} {formats.date_format(day, 'MONTH_DAY_FORMAT')}"


def spans_text(spans: tuple[Span, ...]) -> str:
    if not spans:
        # A context of its own: a request's "Closed" is feminine in Spanish, a place's is not.
        return pgettext("opening hours", "Closed")
    return ", ".join(f"{clock(s.opens)} \N{EN DASH} {clock(s.closes)}" for s in spans)


def displayed_hours(schedule: Schedule, first: date) -> str:
    """The week from `first` as one line, the way Inquiry v1's displayed_hours reads."""
    parts = []
    for day in engine.week(schedule, first):
        parts.append(f"{day_name(day.day)}: {spans_text(day.spans)}")
    return "; ".join(parts)


def upcoming_exceptions(facility: Facility, first: date, days: int = 60) -> list[HoursException]:
    last = first + timedelta(days=days)
    return [x for x in facility.exceptions.all() if x.last_day >= first and x.first_day <= last]


def status_text(facility: Facility, at: datetime | None = None) -> str:
    """The line shown beside a facility in search results: "Open now until 8 p.m."."""
    return status(facility, at).text
