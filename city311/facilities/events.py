"""Event occurrences: a repeating event's dates come from its RRULE, read by python-dateutil.

Recurrences repeat in the city's wall-clock time, so a 10 am Saturday story time stays at
10 am across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dateutil.rrule import rrule, rrulestr  # type: ignore[import-untyped]

from city311.cities import profile
from city311.facilities.models import Event

# A rule that repeats more often than daily is not a city event (and would flood a feed).
_ALLOWED_FREQ = ("FREQ=DAILY", "FREQ=WEEKLY", "FREQ=MONTHLY", "FREQ=YEARLY")


class RecurrenceError(ValueError):
    pass


def check_recurrence(text: str) -> None:
    """Raise `RecurrenceError` saying what is wrong with an RRULE ("" is no recurrence)."""
    if not text:
        return
    if text.upper().startswith("RRULE:"):
        raise RecurrenceError(
            "Write the rule without the RRULE: prefix, e.g. FREQ=WEEKLY;BYDAY=SA."
        )
    if not any(part in text.upper().split(";") for part in _ALLOWED_FREQ):
        raise RecurrenceError(
            "Repeat daily, weekly, monthly or yearly: FREQ=DAILY|WEEKLY|MONTHLY|YEARLY."
        )
    try:
        rrulestr(text, dtstart=datetime(2026, 1, 1, tzinfo=UTC))
    except (ValueError, TypeError) as error:
        raise RecurrenceError(f"{text!r} is not an RRULE (RFC 5545): {error}.") from None


@dataclass(frozen=True)
class Occurrence:
    event: Event
    starts: datetime
    ends: datetime

    @property
    def key(self) -> str:
        return f"{self.event.slug}/{self.starts:%Y%m%dT%H%M}"


def occurrences(event: Event, start: datetime, end: datetime) -> list[Occurrence]:
    """The times `event` takes place that overlap `start`..`end` (aware datetimes)."""
    zone = profile.current().zone
    first = event.starts_at.astimezone(zone)
    length = event.ends_at - event.starts_at
    if not event.recurrence:
        found = [first] if first < end and first + length > start else []
    else:
        rule = rrulestr(event.recurrence, dtstart=first)
        assert isinstance(rule, rrule)
        found = rule.between(start - length, end, inc=False)
        found = [f for f in found if f + length > start and f < end]
    return [Occurrence(event, f, f + length) for f in found]


def upcoming(events: list[Event], start: datetime, days: int) -> list[Occurrence]:
    """Every occurrence of `events` in the `days` from `start`, soonest first."""
    end = start + timedelta(days=days)
    found = [o for e in events for o in occurrences(e, start, end)]
    return sorted(found, key=lambda o: (o.starts, o.event.title))
