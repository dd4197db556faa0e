"""The business calendar: when the city works, and when an SLA falls due.

Working hours come from `BusinessHours` rows; days off are the public holidays of the
`holidays` package for CITY311_HOLIDAYS plus the city's own `Holiday` rows (a row with
closed=False makes a public holiday a working day).
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta

import holidays as holidays_lib
from django.utils import timezone

from city311.catalog.models import BusinessHours, Holiday, SlaUnit

# A target so long it cannot be met within ten years is a configuration mistake; stop looking.
_MAX_DAYS_SEARCHED = 3660


@functools.lru_cache(maxsize=64)
def public_holidays(year: int, spec: str) -> dict[date, str]:
    """Public holidays of one year for a spec such as 'US' or 'US-NY'."""
    country, _, subdiv = spec.partition("-")
    found = holidays_lib.country_holidays(country, subdiv=subdiv or None, years=year)
    return dict(found.items())


class Calendar:
    """The city's working time, loaded once for a computation."""

    def __init__(self) -> None:
        # Imported here: the city's profile is read through the catalog's snapshot.
        from city311.cities import profile

        city = profile.current()
        self.tz, self.spec = city.zone, city.holidays

    # Loaded on first use: calendar-day SLAs, the common case, need neither.
    @functools.cached_property
    def hours(self) -> dict[int, tuple[time, time]]:
        return {row.weekday: (row.opens, row.closes) for row in BusinessHours.objects.all()}

    @functools.cached_property
    def city_days(self) -> dict[date, bool]:
        return {row.date: row.closed for row in Holiday.objects.all()}

    @functools.cached_property
    def city_day_names(self) -> dict[date, str]:
        return {row.date: row.name for row in Holiday.objects.all()}

    def is_holiday(self, day: date) -> bool:
        if day in self.city_days:
            return self.city_days[day]
        return bool(self.spec) and day in public_holidays(day.year, self.spec)

    def working_interval(self, day: date) -> tuple[datetime, datetime] | None:
        """The working hours of one local day, in UTC, or None when the city is closed."""
        if day.weekday() not in self.hours or self.is_holiday(day):
            return None
        opens, closes = self.hours[day.weekday()]
        start = datetime.combine(day, opens, tzinfo=self.tz).astimezone(UTC)
        end = datetime.combine(day, closes, tzinfo=self.tz).astimezone(UTC)
        return start, end

    def holiday_name(self, day: date) -> str:
        """What a closed day is called: the city's own name for it, or the public holiday's."""
        if day in self.city_day_names:
            return self.city_day_names[day]
        return public_holidays(day.year, self.spec).get(day, "") if self.spec else ""

    def days_off(self, start: datetime, end: datetime) -> list[date]:
        """Weekdays the city normally works, between `start` and `end`, that are holidays."""
        day, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        found = []
        while day <= last:
            if day.weekday() in self.hours and self.is_holiday(day):
                found.append(day)
            day += timedelta(days=1)
        return found

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time between two moments (none when `end` is not after `start`)."""
        if end <= start:
            return timedelta(0)
        if not self.hours:
            return end - start
        total = timedelta(0)
        day, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        while day <= last:
            interval = self.working_interval(day)
            if interval is not None:
                begin, finish = max(interval[0], start), min(interval[1], end)
                if begin < finish:
                    total += finish - begin
            day += timedelta(days=1)
        return total

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after `start`."""
        return self.add_business_time(start, timedelta(hours=hours))

    def add_business_time(self, start: datetime, remaining: timedelta) -> datetime:
        """The moment `remaining` working time after `start`: the earliest, so a target
        that ends at closing time falls due at closing time, not at the next opening."""
        moment = start.astimezone(UTC)
        day = start.astimezone(self.tz).date()
        if not self.hours:
            return moment + remaining
        for _ in range(_MAX_DAYS_SEARCHED):
            interval = self.working_interval(day)
            if interval is not None:
                begin, end = max(interval[0], moment), interval[1]
                if begin < end:
                    if begin + remaining <= end:
                        return begin + remaining
                    remaining -= end - begin
            day += timedelta(days=1)
        raise ValueError(f"No working time found within {_MAX_DAYS_SEARCHED} days of {start}.")

    def due_at(self, start: datetime, amount: int | None, unit: str) -> datetime | None:
        if amount is None:
            return None
        if unit == SlaUnit.BUSINESS_HOURS:
            return self.add_business_hours(start, amount)
        # Calendar days count in the city's wall-clock time, so "2 days" across a DST change
        # still ends at the same time of day.
        local = start.astimezone(self.tz)
        naive = local.replace(tzinfo=None) + timedelta(days=amount)
        return naive.replace(tzinfo=self.tz).astimezone(UTC)


def due_at(start: datetime | None, amount: int | None, unit: str) -> datetime | None:
    """When a request opened at `start` falls due under an SLA of `amount` `unit`."""
    return Calendar().due_at(start or timezone.now(), amount, unit)
