"""When a person answers the city's phones: the call centre's hours, read by the one
opening-hours engine (city311.lib.openinghours) like any facility's.

The hours are the city's data, `call_centre_hours` in its pack's city.yaml (the setting
CITY311_CALL_CENTRE_HOURS overrides it): "24/7" (the demo, like Sacramento) or weekly rules
such as "Mo-Fr 07:00-18:00" (Fresno) or "Mo-Fr 07:00-19:00; Sa 09:00-13:00". Unless the
centre is open around the clock, it closes on the city's public holidays (the manifest's
region and calendar.yaml's own days, as the SLA calendar and facilities read them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import TypedDict

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from city311.cities import profile
from city311.facilities.hours import moment, now_local, own_days
from city311.facilities.pack import parse_days
from city311.lib import openinghours as engine
from city311.lib.openinghours import HoursError, Rule, Schedule, Span

ALWAYS = "24/7"


def parse(text: str) -> tuple[tuple[Rule, ...], bool]:
    """(weekly rules, open around the clock) of an hours text; HoursError says what to fix."""
    text = " ".join(text.split())
    if text == ALWAYS:
        return (Rule(frozenset(range(7)), (Span(time(0), time(0)),)),), True
    rules = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            days, spans = part.split(" ", 1)
            opens, closes = (
                time.fromisoformat(t.replace("24:00", "00:00")) for t in spans.split("-")
            )
        except ValueError:
            raise HoursError(
                f"{part!r}: write the call centre's hours as 24/7 or as days and times, such as "
                "Mo-Fr 07:00-18:00; Sa 09:00-13:00."
            ) from None
        first, last = parse_days(days)
        weekdays = frozenset(d % 7 for d in range(first, last + 1 + (7 if last < first else 0)))
        rules.append(Rule(weekdays, (Span(opens, closes),)))
    if not rules:
        raise HoursError("The call centre's hours are empty: write 24/7 or days and times.")
    return tuple(rules), False


def schedule() -> Schedule:
    city = profile.current()
    rules, always = parse(city.call_centre_hours)
    return Schedule(
        rules=rules,
        zone=city.time_zone,
        holidays=city.holidays,
        holiday_spans=None if always else (),
        city_days=() if always else own_days(),
    )


# What works when nobody answers, as apps read it (`after_hours` in the JSON answer).
AFTER_HOURS = ("website", "app", "sms", "phone_menu")


class AvailabilityPayload(TypedDict):
    """`GET /contacts/hours.json`: the answer apps read (docs/call-centre.md)."""

    person_available: bool
    back_at: str | None  # ISO 8601 in the city's time; null when open (or never back)
    text: str  # the sentence every channel says, in `language`
    after_hours: list[str]  # what works when nobody answers: AFTER_HOURS
    hours: str  # the centre's hours as the city wrote them ("24/7", "Mo-Fr 07:00-18:00")
    time_zone: str
    language: str


@dataclass(frozen=True)
class Availability:
    open: bool
    back_at: datetime | None  # when people answer again, if closed
    text: str

    def payload(self) -> AvailabilityPayload:
        city = profile.current()
        return {
            "person_available": self.open,
            "back_at": self.back_at.isoformat() if self.back_at else None,
            "text": self.text,
            "after_hours": list(AFTER_HOURS),
            "hours": city.call_centre_hours,
            "time_zone": str(city.time_zone),
            "language": get_language() or "en",
        }


def availability(at: datetime | None = None) -> Availability:
    """Whether a person answers now and, if not, when people are back and what still works
    (in words, in the active language). Every channel says this one answer: the portal's home
    page, the phone tree's greeting and its "a person" choice, the texts' last reply, the
    e-mail acknowledgement and `GET /contacts/hours.json` for apps."""
    hours = schedule()
    at = (at or now_local()).astimezone(hours.tz)
    if engine.is_open(hours, at):
        return Availability(True, None, _("A person answers now."))
    back = engine.next_opening(hours, at)
    later = _(
        "At any time: report on the website, in the app or by text; hear a request's status, "
        "pickup days and opening hours on the phone menu."
    )
    if back is None:
        return Availability(False, None, _("Nobody answers the phones now.") + " " + later)
    text = _("Nobody answers the phones now; people are back %(when)s.") % {
        "when": moment(back, at)
    }
    return Availability(False, back, text + " " + later)
