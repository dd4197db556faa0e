"""The one opening-hours engine: "open now?", "open Saturday at 7 pm?", "when does it next open?".

A `Schedule` is plain data: weekly rules (optionally for a season of the year), what happens
on public holidays, and dated exceptions (closures, extended hours) with their reasons. Any
app describes its hours this way — a facility, and later the call centre itself — and asks
the questions here.

The calendar arithmetic is not ours: the schedule is compiled into an OpenStreetMap
`opening_hours` expression and evaluated by opening-hours-py (bindings to the Rust
`opening-hours` crate). Public holidays come from the `holidays` package for the city's
region (the same source as the SLA calendar, `catalog/calendar.py`), written into the
expression as explicit dates, because the crate's own holiday tables differ from the
city's (New York State keeps Lincoln's Birthday and Election Day, for instance).

Times are the place's wall-clock time: an aware datetime is converted to the schedule's
zone first, and answers are aware datetimes in that zone.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from opening_hours import OpeningHours, State

WEEKDAY_CODES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
MONTH_CODES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MIDNIGHT = time(0, 0)


class HoursError(ValueError):
    """A schedule that cannot be right, with a message an editor can act on."""


@dataclass(frozen=True, order=True)
class Span:
    """Open from `opens` to `closes` on one day; `closes` of 00:00 means midnight, the day's end,
    and a `closes` before `opens` (22:00-02:00) the next morning: the span belongs to the day it
    opens on, so that day's rules, holiday and exceptions decide it, the part after midnight too.
    """

    opens: time
    closes: time

    def __post_init__(self) -> None:
        if self.closes == self.opens and self.closes != MIDNIGHT:
            raise HoursError(
                f"{self.opens:%H:%M}-{self.closes:%H:%M}: the closing time must differ from the "
                "opening time (00:00 closes at midnight; 22:00-02:00 closes the next morning)."
            )

    @property
    def overnight(self) -> bool:
        """Whether it closes after midnight, the next morning."""
        return self.closes != MIDNIGHT and self.closes < self.opens

    @property
    def osm(self) -> str:
        # An overnight span is written up to midnight; what follows midnight is carried in the
        # rule's comment (`_spans_osm`), because in OSM's syntax the next day's own rule would
        # replace it.
        closes = "24:00" if self.closes == MIDNIGHT or self.overnight else f"{self.closes:%H:%M}"
        return f"{self.opens:%H:%M}-{closes}"


@dataclass(frozen=True)
class Season:
    """A stretch of every year, from (month, day) to (month, day) inclusive; may wrap the
    new year (November 15 to March 15)."""

    first: tuple[int, int]
    last: tuple[int, int]

    def __post_init__(self) -> None:
        for month, day in (self.first, self.last):
            try:
                date(2024, month, day)  # a leap year: February 29 is a valid season day
            except ValueError as error:
                raise HoursError(f"{month:02d}-{day:02d} is not a day of the year.") from error

    @property
    def osm(self) -> str:
        (m1, d1), (m2, d2) = self.first, self.last
        return f"{MONTH_CODES[m1 - 1]} {d1:02d}-{MONTH_CODES[m2 - 1]} {d2:02d}"

    @classmethod
    def parse(cls, text: str) -> Season:
        """ "06-27..09-07" (month-day to month-day)."""
        try:
            first, last = (tuple(int(p) for p in part.split("-")) for part in text.split(".."))
            return cls((first[0], first[1]), (last[0], last[1]))
        except (ValueError, IndexError) as error:
            raise HoursError(
                f"{text!r}: write a season as MM-DD..MM-DD, e.g. 06-27..09-07."
            ) from error

    def __str__(self) -> str:
        return f"{self.first[0]:02d}-{self.first[1]:02d}..{self.last[0]:02d}-{self.last[1]:02d}"


@dataclass(frozen=True)
class Rule:
    """Open during `spans` on `weekdays` (0 = Monday), all year or during `season`. A season's
    rules replace the all-year hours of the weekdays they name, on the days of the season."""

    weekdays: frozenset[int]
    spans: tuple[Span, ...]
    season: Season | None = None


@dataclass(frozen=True)
class Exception_:
    """From `first` to `last` (inclusive) the place keeps `spans` instead (none: closed)."""

    first: date
    last: date
    spans: tuple[Span, ...] = ()
    reason: str = ""
    key: str = ""

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise HoursError(f"The exception ends ({self.last}) before it starts ({self.first}).")

    @property
    def closed(self) -> bool:
        return not self.spans


@dataclass(frozen=True)
class Schedule:
    """Everything that says when a place is open. `holiday_spans` is None when public holidays
    keep the usual hours, () when the place closes on them, else the hours it keeps.
    `city_days` are the city's own (date, closed) holiday decisions on top of the region's."""

    rules: tuple[Rule, ...]
    zone: str = "UTC"
    holidays: str = ""
    holiday_spans: tuple[Span, ...] | None = ()
    exceptions: tuple[Exception_, ...] = ()
    city_days: tuple[tuple[date, bool], ...] = ()

    def __post_init__(self) -> None:
        # Every question looks the compiled hours up by the schedule: hash it once, not per call.
        fields = (self.rules, self.zone, self.holidays, self.holiday_spans)
        object.__setattr__(self, "_hash", hash((*fields, self.exceptions, self.city_days)))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined,no-any-return]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


@dataclass(frozen=True)
class DayHours:
    """One day's hours and why they are what they are."""

    day: date
    spans: tuple[Span, ...]
    holiday: str = ""
    exception: Exception_ | None = None
    season: Season | None = None
    seasonal_closure: bool = False

    @property
    def closed(self) -> bool:
        return not self.spans


@functools.lru_cache(maxsize=256)
def _region_holidays(spec: str, year: int) -> dict[date, str]:
    country, _, subdiv = spec.partition("-")
    return dict(holidays_lib.country_holidays(country, subdiv=subdiv or None, years=year).items())


def holiday_name(schedule: Schedule, day: date) -> str:
    """The public holiday on `day` ("" if none), the city's own days included."""
    own = dict(schedule.city_days)
    if day in own:
        return (
            (_region_holidays(schedule.holidays, day.year).get(day) or "City holiday")
            if own[day]
            else ""
        )
    if not schedule.holidays:
        return ""
    return _region_holidays(schedule.holidays, day.year).get(day, "")


def _holiday_days(schedule: Schedule, years: range) -> list[date]:
    days: set[date] = set()
    if schedule.holidays:
        for year in years:
            days.update(_region_holidays(schedule.holidays, year))
    for day, closed in schedule.city_days:
        if closed:
            days.add(day)
        else:
            days.discard(day)
    return sorted(d for d in days if d.year in years)


def _osm_date(day: date) -> str:
    return f"{day.year} {MONTH_CODES[day.month - 1]} {day.day:02d}"


def _spans_osm(spans: tuple[Span, ...]) -> str:
    if not spans:
        return "off"
    text = ",".join(s.osm for s in sorted(spans))
    overnight = [s for s in spans if s.overnight]
    # The library hands a rule's comment back with its intervals: the one open up to midnight
    # goes on until this time the next morning.
    return f'{text} "{overnight[0].closes:%H:%M}"' if overnight else text


def expression(schedule: Schedule, years: range) -> str:
    """The schedule as an OSM opening_hours expression, public holidays of `years` written out.

    In OSM's syntax a later rule replaces the earlier ones for every day it selects, so the
    order is the precedence: all-year rules, then each season's rules (which replace the
    all-year hours of the weekdays they name, within the season), then public holidays, then
    exceptions, which win over everything.
    """
    parts: list[str] = []
    seasons: dict[Season | None, dict[int, list[Span]]] = {}
    for rule in schedule.rules:
        days = seasons.setdefault(rule.season, {})
        for weekday in rule.weekdays:
            days.setdefault(weekday, []).extend(rule.spans)
    for season, days in sorted(seasons.items(), key=lambda kv: kv[0] is not None):
        prefix = f"{season.osm} " if season else ""
        for weekday in sorted(days):
            parts.append(f"{prefix}{WEEKDAY_CODES[weekday]} {_spans_osm(tuple(days[weekday]))}")
    if not parts:
        parts.append("off")
    if schedule.holiday_spans is not None:
        for day in _holiday_days(schedule, years):
            parts.append(f"{_osm_date(day)} {_spans_osm(schedule.holiday_spans)}")
    for exc in schedule.exceptions:
        if exc.last.year < years.start or exc.first.year >= years.stop:
            continue
        parts.append(f"{_osm_date(exc.first)}-{_osm_date(exc.last)} {_spans_osm(exc.spans)}")
    return "; ".join(parts)


@dataclass
class _Compiled:
    """One year's open intervals (local, naive), from the library, for bisecting, and each
    day's own spans (an overnight span under the day it opens)."""

    year: int
    starts: list[datetime] = field(default_factory=list)
    ends: list[datetime] = field(default_factory=list)
    days: dict[date, tuple[Span, ...]] = field(default_factory=dict)


# Each year is compiled on its own, when first asked about: the library's cost grows with the
# number of dated rules times the days evaluated, so one year at a time keeps it small (about
# 15 ms a facility). Questions that cross a new year read the next year's too.
_YEARS_AHEAD = 2


def _evaluated(
    schedule: Schedule, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, time | None]]:
    """The open intervals from `start` to `end` (one year's expression), each with the time the
    next morning it goes on until when it runs to midnight from an overnight span."""
    hours = OpeningHours(expression(schedule, range(start.year, start.year + 1)))
    found = []
    for begin, finish, state, comment in hours.intervals(start, end):
        if state != State.OPEN:
            continue
        finish = min(finish or end, end)
        spill = None
        if comment and finish.time() == MIDNIGHT:
            spill = time.fromisoformat(comment)
        found.append((begin, finish, spill))
    return found


def _merge(intervals: list[tuple[datetime, datetime]]) -> tuple[list[datetime], list[datetime]]:
    starts: list[datetime] = []
    ends: list[datetime] = []
    for begin, finish in sorted(intervals):
        if ends and begin <= ends[-1]:
            ends[-1] = max(ends[-1], finish)
        else:
            starts.append(begin)
            ends.append(finish)
    return starts, ends


@functools.lru_cache(maxsize=512)
def _compiled(schedule: Schedule, year: int) -> _Compiled:
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    compiled = _Compiled(year)
    intervals: list[tuple[datetime, datetime]] = []
    # New Year's Eve's overnight span goes on into this year.
    for _begin, finish, spill in _evaluated(schedule, start - timedelta(days=1), start):
        if spill is not None and finish == start:
            intervals.append((start, datetime.combine(start.date(), spill)))
    for begin, finish, spill in _evaluated(schedule, start, end):
        intervals.append((begin, finish))
        if spill is not None and finish < end:
            intervals.append((finish, datetime.combine(finish.date(), spill)))
        _add_days(compiled.days, begin, finish, spill)
    compiled.starts, compiled.ends = _merge(intervals)
    return compiled


def _add_days(
    days: dict[date, tuple[Span, ...]], begin: datetime, finish: datetime, spill: time | None
) -> None:
    """Each day's piece of one open interval as that day's span."""
    while begin < finish:
        midnight = datetime.combine(begin.date() + timedelta(days=1), MIDNIGHT)
        piece_end = min(finish, midnight)
        closes = piece_end.time()
        if piece_end == finish and spill is not None:
            closes = spill
        days[begin.date()] = (*days.get(begin.date(), ()), Span(begin.time(), closes))
        begin = piece_end


def _local(schedule: Schedule, at: datetime) -> datetime:
    if at.tzinfo is None:
        return at
    return at.astimezone(schedule.tz).replace(tzinfo=None)


def _aware(schedule: Schedule, at: datetime) -> datetime:
    return at.replace(tzinfo=schedule.tz)


def is_open(schedule: Schedule, at: datetime) -> bool:
    """Whether the place is open at `at` (aware, or naive in the place's own time)."""
    local = _local(schedule, at)
    compiled = _compiled(schedule, local.year)
    i = bisect.bisect_right(compiled.starts, local) - 1
    return i >= 0 and local < compiled.ends[i]


def open_intervals(
    schedule: Schedule, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The stretches the place is open between `start` and `end`, aware in its zone."""
    local_start, local_end = _local(schedule, start), _local(schedule, end)
    found: list[tuple[datetime, datetime]] = []
    for year in range(local_start.year, local_end.year + 1):
        # Each year read from its own window, clipped to it, so no stretch is counted twice.
        low = max(local_start, datetime(year, 1, 1))
        high = min(local_end, datetime(year + 1, 1, 1))
        compiled = _compiled(schedule, year)
        i = max(bisect.bisect_right(compiled.starts, low) - 1, 0)
        for begin, finish in zip(compiled.starts[i:], compiled.ends[i:], strict=True):
            if begin >= high:
                break
            if finish <= low:
                continue
            b, e = _aware(schedule, max(begin, low)), _aware(schedule, min(finish, high))
            if found and found[-1][1] == b:
                found[-1] = (found[-1][0], e)
            else:
                found.append((b, e))
    return found


def next_change(schedule: Schedule, at: datetime) -> datetime | None:
    """When the place next opens (if closed at `at`) or closes (if open), looking up to two
    years ahead; None when nothing changes in that time."""
    local = _local(schedule, at)
    now_open = is_open(schedule, local)
    for year in range(local.year, local.year + _YEARS_AHEAD + 1):
        compiled = _compiled(schedule, year)
        if now_open:
            i = bisect.bisect_right(compiled.starts, local) - 1
            end = compiled.ends[i]
            if end != datetime(year + 1, 1, 1) or not is_open(schedule, end):
                return _aware(schedule, end)
            local = end  # open across the new year: the close is in the next one
            continue
        j = bisect.bisect_right(compiled.starts, local)
        if j < len(compiled.starts):
            return _aware(schedule, compiled.starts[j])
        local = max(local, datetime(year + 1, 1, 1))
    return None


def next_opening(schedule: Schedule, at: datetime) -> datetime | None:
    """The next moment at or after `at` the place is open (`at` itself when open now)."""
    if is_open(schedule, at):
        return at
    return next_change(schedule, at)


def day_hours(schedule: Schedule, day: date) -> DayHours:
    """The hours of one day, with the holiday, exception or season that made them."""
    spans = _compiled(schedule, day.year).days.get(day, ())
    exception = next((x for x in reversed(schedule.exceptions) if x.first <= day <= x.last), None)
    holiday = holiday_name(schedule, day)
    season = _season_of(schedule, day)
    seasonal_only = bool(schedule.rules) and all(r.season is not None for r in schedule.rules)
    return DayHours(
        day=day,
        spans=spans,
        holiday=holiday,
        exception=exception,
        season=season,
        seasonal_closure=seasonal_only and season is None,
    )


def _season_of(schedule: Schedule, day: date) -> Season | None:
    for rule in schedule.rules:
        if rule.season is not None and in_season(rule.season, day):
            return rule.season
    return None


def in_season(season: Season, day: date) -> bool:
    """Whether `day` falls in `season` (tuple comparison of month and day, wrapping the year)."""
    key = (day.month, day.day)
    if season.first <= season.last:
        return season.first <= key <= season.last
    return key >= season.first or key <= season.last


def week(schedule: Schedule, first: date) -> list[DayHours]:
    """Seven days' hours from `first`."""
    return [day_hours(schedule, first + timedelta(days=n)) for n in range(7)]
