"""The back-test of the expected-date forecast (expected.py), as a library: bench/expected.py
prints it, the tests run it on small hand-built histories where the right answer is known.

Rolling cut-offs (each month, or each day as the site refreshes): at each cut-off everything is
fitted on what was known then (requests filed before it; a closing after it is not yet known, so
that request counts as still open) and tested on the requests filed before the next cut-off.
The per-type median baseline is computed from the same training data (closed requests' times).

- coverage: the share of test requests closed within the stated "most are closed within" time
  (calibrated, `forecast_groups`; as the history has it beside); an open test request counts
  (as not covered) once it has been open longer than that time, and is left out before;
- the point forecast against the per-type median: the median absolute error on the closed test
  requests both can answer; beside it a bound no forecast can be expected to pass: each type's
  median in the test request's month itself, known only in hindsight.

`cases_from_file` reads a city's export without a database (the continuous history the demo does
not have: its records are one-month samples of different years, so most of its test months
follow a gap).
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median

from django.utils import timezone

from city311.reports import nyc
from city311.servicerequests import expected
from city311.servicerequests.expected import Case

# The columns a record's type and district are read from, the first one an export has.
TYPE_COLUMNS = ("category", "complaint_type", "service_name", "request_type", "requesttype")
DISTRICT_COLUMNS = (
    "borough",
    "supervisor_district",
    "council_district",
    "councildistrict",
    "community_board",
    "neighborhood",
)
CREATED_COLUMNS = ("created_date", "requested_datetime", "createddate", "open_dt")
CLOSED_COLUMNS = ("closed_date", "closed_datetime", "closeddate", "closed_dt")


@dataclass(frozen=True)
class FileHistory:
    cases: list[Case]
    types: dict[str, int]  # the export's type names, as the cases' type ids
    skipped: int  # records without a readable time requested, or closed before it


def cases_from_files(paths: list[Path], type_column: str = "") -> FileHistory:
    """City exports (gzip or plain CSV, with a header; or NYC's five-column file without one) as
    one history's Cases, a type being the same name in every file. An open record was known open
    when its file was exported, which it does not say: taken as the latest time that file shows
    (a request or a closing)."""
    cases: list[Case] = []
    types: dict[str, int] = {}
    skipped = 0
    for path in paths:
        found = _cases_from_file(path, type_column, types)
        cases += found.cases
        skipped += found.skipped
    return FileHistory(cases, types, skipped)


def _cases_from_file(path: Path, type_column: str, types: dict[str, int]) -> FileHistory:
    rows = list(_rows(path))
    columns = set(rows[0]) if rows else set()
    kind = type_column or next((c for c in TYPE_COLUMNS if c in columns), "")
    district_column = next((c for c in DISTRICT_COLUMNS if c in columns), "")
    created_column = next((c for c in CREATED_COLUMNS if c in columns), "")
    closed_column = next((c for c in CLOSED_COLUMNS if c in columns), "")
    if not kind or not created_column:
        raise ValueError(f"{path.name}: no type or time requested column in {sorted(columns)}")
    zone = timezone.get_current_timezone()
    read: list[tuple[int, str, datetime, datetime | None]] = []
    skipped = 0
    for row in rows:
        requested = _time(row.get(created_column, ""), zone)
        closed = _time(row.get(closed_column, ""), zone) if closed_column else None
        if requested is None or (closed is not None and closed < requested):
            skipped += 1
            continue
        type_id = types.setdefault(row[kind].strip() or "(none)", len(types) + 1)
        district = (row.get(district_column) or "").strip().upper()
        read.append(
            (type_id, "" if district in ("", "UNSPECIFIED") else district, requested, closed)
        )
    exported = max((c or r for _t, _d, r, c in read), default=None)
    cases = [
        Case(type_id, district, requested, closed, closed or exported or requested)
        for type_id, district, requested, closed in read
    ]
    return FileHistory(cases, types, skipped)


def _rows(path: Path) -> Iterator[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:  # type: ignore[operator]
        raw = csv.reader(f)
        first = next(raw, None)
        if first is None:
            return
        if len(first) == 5 and nyc.parse_time(first[1], timezone.get_current_timezone()):
            header = nyc.HEADERLESS[5]
            yield dict(zip(header, first, strict=False))
        else:
            header = [h.strip().lower().replace(" ", "_") for h in first]
        for row in raw:
            yield dict(zip(header, row, strict=False))


def _time(text: str, zone) -> datetime | None:
    found = nyc.parse_time(text, zone)
    if found is not None or not text:
        return found
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


@dataclass
class Period:
    """What one cut-off's test requests showed."""

    covered: list[bool] = field(default_factory=list)  # calibrated
    covered_raw: list[bool] = field(default_factory=list)
    errors: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    told_nothing: int = 0
    after_gap: bool = False  # no request in the 31 days before the cut-off


@dataclass
class Result:
    periods: dict[str, Period]  # by month ("2020-01"), whatever the step
    levels: dict[str, int]

    def coverage(self, months: list[str] | None = None) -> tuple[float, int]:
        found = [x for m in self._months(months) for x in self.periods[m].covered]
        return (sum(found) / len(found) if found else float("nan")), len(found)

    def coverage_raw(self, months: list[str] | None = None) -> float:
        found = [x for m in self._months(months) for x in self.periods[m].covered_raw]
        return sum(found) / len(found) if found else float("nan")

    def error(self, name: str, months: list[str] | None = None) -> tuple[float, int]:
        """The median absolute error (hours) of a forecast over the closed test requests."""
        found = [e for m in self._months(months) for e in self.periods[m].errors[name]]
        return (median(found) if found else float("nan")), len(found)

    def lower(self, name: str, months: list[str] | None = None) -> float:
        """How much lower than the per-type median's a forecast's error is (0.25: 25% lower)."""
        base, ours = self.error("baseline", months)[0], self.error(name, months)[0]
        return 1 - ours / base if base else float("nan")

    def _months(self, months: list[str] | None) -> list[str]:
        return sorted(self.periods) if months is None else [m for m in months if m in self.periods]


Candidate = Callable[[list[Case], datetime], Callable[[Case], float | None]]


def backtest(
    cases: list[Case], step: str = "month", candidates: dict[str, Candidate] | None = None
) -> Result:
    """Fit at each cut-off on the past, test on the requests up to the next. `candidates`: other
    point forecasts to judge beside the one told (each fitted on the past as it is, and judged on
    the same requests; where one says nothing, the told point stands)."""
    periods: dict[str, Period] = defaultdict(Period)
    levels: dict[str, int] = defaultdict(int)
    ordered = sorted(cases, key=lambda c: c.requested_at)
    # A bound, not a forecast: each type's median in the test request's month itself (known
    # only in hindsight; a month whatever the step: a day's few requests would be their own).
    in_month: dict[tuple[str, int], list[float]] = defaultdict(list)
    for c in ordered:
        if c.closed_at is not None:
            in_month[(_month(c.requested_at), c.type_id)].append(
                _hours(c.closed_at - c.requested_at)
            )
    hindsight_median = {key: median(h) for key, h in in_month.items()}
    for cutoff, until in cutoffs(ordered, step):
        past = [c for c in ordered if c.requested_at < cutoff]
        test = [c for c in ordered if cutoff <= c.requested_at < until]
        if not past or not test:
            continue
        period = periods[_month(cutoff)]
        if cutoff - past[-1].requested_at > timedelta(days=31):
            period.after_gap = True
        told = expected.forecast_groups(past, cutoff)
        raw = expected.estimate_groups(past, cutoff)
        per_type: dict[int, list[float]] = defaultdict(list)
        for c in past:
            if c.closed_at is not None and c.closed_at <= cutoff:
                per_type[c.type_id].append(_hours(c.closed_at - c.requested_at))
        type_median = {t: median(h) for t, h in per_type.items()}
        fitted = {name: fit(past, cutoff) for name, fit in (candidates or {}).items()}
        for c in test:
            chosen = expected.pick(told, c.type_id, c.district, c.season)
            if chosen is None:
                period.told_nothing += 1
                continue
            key, found = chosen
            levels[
                ("type", "type x district", "type x district x season")[bool(key[1]) + bool(key[2])]
            ] += 1
            assert found.most_within_hours is not None
            stated = {"cal": found.most_within_hours, "raw": raw[key].most_within_hours or 0.0}
            if c.closed_at is not None:
                took = _hours(c.closed_at - c.requested_at)
                covered = {k: took <= v for k, v in stated.items()}
                if found.typical_hours is not None and c.type_id in type_median:
                    period.errors["baseline"].append(abs(took - type_median[c.type_id]))
                    period.errors["point"].append(abs(took - found.typical_hours))
                    period.errors["hindsight"].append(
                        abs(took - hindsight_median[(_month(c.requested_at), c.type_id)])
                    )
                    for name, point in fitted.items():
                        guess = point(c)
                        guess = found.typical_hours if guess is None else guess
                        period.errors[name].append(abs(took - guess))
            else:
                open_for = _hours(c.open_until - c.requested_at)
                # Still open past the stated time: not covered; before it: not judged yet.
                covered = {k: False for k, v in stated.items() if open_for > v}
            if "cal" in covered:
                period.covered.append(covered["cal"])
            if "raw" in covered:
                period.covered_raw.append(covered["raw"])
    return Result(dict(periods), dict(levels))


def cutoffs(cases: list[Case], step: str) -> Iterator[tuple[datetime, datetime]]:
    days = sorted({timezone.localtime(c.requested_at).date() for c in cases})
    if step == "day":
        for day in days:
            start = timezone.make_aware(datetime(day.year, day.month, day.day))
            yield start, start + timedelta(days=1)
        return
    for year, month in sorted({(d.year, d.month) for d in days}):
        yield (
            timezone.make_aware(datetime(year, month, 1)),
            timezone.make_aware(datetime(year + month // 12, month % 12 + 1, 1)),
        )


def _month(at: datetime) -> str:
    return f"{timezone.localtime(at):%Y-%m}"


def _hours(delta: timedelta) -> float:
    return max(delta.total_seconds() / 3600, 0.0)
