"""A deliberately simple, slow reference for SLA due dates, written from the rules in
docs/sla.md and sharing no code with city311: it steps through time one minute at a time.

It writes the golden table tests/data/sla_golden.csv (`python -m tests.sla_reference`), which
tests/test_sla_golden.py holds the implementation to, row by row, and checks against this
reference again.

The rules, as the city states them:
- The test city (New York) works Monday to Friday, 9:00 to 17:00 local time (America/New_York).
- Closed: New York State's public holidays on weekdays (listed below by hand from the state's
  calendar), and the city's own closed day 27 November 2026; the city works on Columbus Day,
  12 October 2026, although it is a public holiday.
- Business hours: the clock runs one minute for each minute that is a working minute and is not
  in a pause; the request is due when the clock has run the target.
- Calendar days: the target is the elapsed time from the start to the same wall-clock time N
  days later (for a wall-clock time that happens twice, the first). The clock runs every minute
  not in a pause.
- A pause stops the clock from when it begins to when it ends. A pause that begins once the
  clock has already run the target changes nothing.
- Reopening starts the clock from zero at the reopening: nothing before it counts.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("America/New_York")
GOLDEN = Path(__file__).parent / "data" / "sla_golden.csv"
MINUTE = timedelta(minutes=1)

# New York State public holidays falling on weekdays, May 2026 to March 2027.
STATE_HOLIDAYS = {
    date(2026, 5, 25),  # Memorial Day
    date(2026, 6, 19),  # Juneteenth
    date(2026, 7, 3),  # Independence Day, observed on the Friday
    date(2026, 9, 7),  # Labor Day
    date(2026, 10, 12),  # Columbus Day (the city works: see CITY_WORKS)
    date(2026, 11, 3),  # Election Day
    date(2026, 11, 11),  # Veterans Day
    date(2026, 11, 26),  # Thanksgiving
    date(2026, 12, 25),  # Christmas
    date(2027, 1, 1),  # New Year's Day
    date(2027, 1, 18),  # Martin Luther King Jr. Day
    date(2027, 2, 12),  # Lincoln's Birthday
    date(2027, 2, 15),  # Washington's Birthday
}
CITY_CLOSED = {date(2026, 11, 27): "Day after Thanksgiving"}
CITY_WORKS = {date(2026, 10, 12): "Columbus Day, worked"}
CLOSED_DAYS = (STATE_HOLIDAYS | set(CITY_CLOSED)) - set(CITY_WORKS)

FIELDS = ["case", "unit", "amount", "start", "pauses", "close", "reopen", "due"]


def local(text: str) -> datetime:
    """A local wall-clock time written as 2026-05-22T16:30 (the first, if it happens twice)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(UTC)


def written(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M%z")


def is_working_minute(moment: datetime) -> bool:
    here = moment.astimezone(ZONE)
    if here.weekday() >= 5 or here.date() in CLOSED_DAYS:
        return False
    minutes = here.hour * 60 + here.minute
    return 9 * 60 <= minutes < 17 * 60


def reference_due(
    unit: str, amount: int, start: datetime, pauses: list[tuple[datetime, datetime]]
) -> datetime:
    if unit == "business_hours":
        target = amount * 60

        def counts(t: datetime) -> bool:
            return is_working_minute(t)
    else:
        wall = start.astimezone(ZONE).replace(tzinfo=None) + timedelta(days=amount)
        end = wall.replace(tzinfo=ZONE).astimezone(UTC)
        target = round((end - start) / MINUTE)

        def counts(t: datetime) -> bool:
            return True

    ran, t = 0, start
    while ran < target:
        if counts(t) and not any(a <= t < b for a, b in pauses):
            ran += 1
        t += MINUTE
    return t


def _moment(rng: random.Random, after: datetime, within_days: int) -> datetime:
    minutes = rng.randrange(1, within_days * 24 * 60)
    # Often on the hour or at closing time, where off-by-one mistakes live.
    if rng.random() < 0.3:
        minutes -= minutes % 60
    return after + timedelta(minutes=minutes)


def generate(count: int = 520, seed: int = 311) -> list[dict[str, str]]:
    rng = random.Random(seed)
    first = datetime(2026, 5, 4, tzinfo=ZONE).astimezone(UTC)
    rows = []
    for n in range(count):
        unit = "business_hours" if n % 3 else "calendar_days"
        amount = rng.choice(
            [1, 2, 3, 4, 8, 9, 16, 24, 40, 80]
            if unit == "business_hours"
            else [1, 2, 3, 5, 7, 10, 14, 30]
        )
        start = _moment(rng, first, 230)
        if n % 7 == 0:  # at closing time on the dot, or at midnight
            start = (
                start.astimezone(ZONE)
                .replace(hour=rng.choice([17, 0, 9]), minute=0)
                .astimezone(UTC)
            )
        kind = n % 4  # 0: plain, 1: pauses, 2: close and reopen, 3: reopen then pauses
        close = reopen = None
        clock = start
        if kind in (2, 3):
            close = _moment(rng, start, 6)
            reopen = _moment(rng, close, 5)
            clock = reopen
        pauses: list[tuple[datetime, datetime]] = []
        if kind in (1, 3):
            at = clock
            for _ in range(rng.choice([1, 1, 2, 3])):
                begin = _moment(rng, at, 4)
                end = _moment(rng, begin, 6)
                pauses.append((begin, end))
                at = end
        due = reference_due(unit, amount, clock, pauses)
        rows.append(
            {
                "case": str(n + 1),
                "unit": unit,
                "amount": str(amount),
                "start": written(start),
                "pauses": " ".join(f"{written(a)}/{written(b)}" for a, b in pauses),
                "close": written(close) if close else "",
                "reopen": written(reopen) if reopen else "",
                "due": written(due),
            }
        )
    return rows


def read(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M%z").astimezone(UTC)


def pauses_of(row: dict[str, str]) -> list[tuple[datetime, datetime]]:
    return [(read(a), read(b)) for a, b in (p.split("/") for p in row["pauses"].split())]


def write(rows: list[dict[str, str]], path: Path = GOLDEN) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def load(path: Path = GOLDEN) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


if __name__ == "__main__":
    write(generate())
    print(f"Wrote {GOLDEN}")
