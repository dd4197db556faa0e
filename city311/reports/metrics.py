"""The metrics of the reports, defined once: what each is called, its formula in words (shown
beside every number), and how it is computed from the day totals (reports.models.DayTotal).

Every page, export and test reads the numbers through `measure`; nothing else computes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from city311.reports.models import CLOSE_COLUMNS, HOUR_BUCKETS, RESPONSE_COLUMNS
from city311.servicerequests import expected

# Age buckets of the open backlog, in days since received: (label, from, to inclusive).
AGE_BUCKETS = (
    (_("0 to 2 days"), 0, 2),
    (_("3 to 7 days"), 3, 7),
    (_("8 to 30 days"), 8, 30),
    (_("31 to 90 days"), 31, 90),
    (_("over 90 days"), 91, None),
)


def min_n() -> int:
    """Below this many requests a rate or percentile is not shown (a ranking on one request
    says nothing): CITY311_REPORTS_MIN_N, 5 by default."""
    return int(getattr(settings, "CITY311_REPORTS_MIN_N", 5))


@dataclass
class Facts:
    """What the metrics are computed from, for one filter and one period."""

    # Sums of the DayTotal counters over the period's days.
    sums: dict[str, float]
    # Requests received in the period and still open, by the day they were received.
    open_by_day: dict[date, int]
    # Requests open now, by the day they were received (any period): the backlog.
    backlog_by_day: dict[date, int]
    # Open (not paused in time) with a due date in the period, before today: open past due.
    open_past_due: int
    # Survey answers (1 to 5) for requests closed in the period: their sum and number.
    satisfaction_sum: float = 0
    satisfaction_n: int = 0
    # Contacts the call centre answered with information only, in the period; None when
    # its contact log cannot answer for this filter (or the city has no call centre).
    information_contacts: int | None = None
    today: date = field(default_factory=date.today)

    def n(self, name: str) -> int:
        return int(self.sums.get(name) or 0)


@dataclass
class Value:
    """One metric's answer: the number (None when suppressed or undefined), how it reads, and
    the count it rests on."""

    number: float | None
    text: str
    n: int
    suppressed: bool = False
    # A percentile that falls on a request still open: the true time is longer.
    at_least: bool = False


@dataclass(frozen=True)
class Metric:
    key: str
    label: Any
    formula: Any
    compute: Callable[[Facts], Value]
    # "count", "percent", "hours", "score": how it is shown and compared.
    unit: str = "count"
    # A target (CityScore: actual ÷ target), from settings; None when there is none.
    target_setting: str = ""
    # Whether a higher number is better (for the arrow beside the previous period); None:
    # neither, so no arrow.
    higher_is_better: bool | None = True

    @property
    def target(self) -> float | None:
        if not self.target_setting:
            return None
        value = getattr(settings, self.target_setting, None)
        return float(value) if value is not None else None


def count_text(n: int | float) -> str:
    """A count as the reader's language writes it: 1,234 in English, 1 234 in Spanish."""
    return formats.number_format(n, force_grouping=True)


def _count(name: str) -> Callable[[Facts], Value]:
    def compute(facts: Facts) -> Value:
        n = facts.n(name)
        return Value(n, count_text(n), n)

    return compute


def too_few(n: int) -> str:
    """How a suppressed number reads (in the language of the page being drawn)."""
    return gettext("too few (n=%(n)s)") % {"n": n}


def ratio(part: int, whole: int) -> Value:
    """part ÷ whole as a percent, suppressed below min_n() in the whole."""
    if whole == 0:
        return Value(None, "—", 0, suppressed=True)
    if whole < min_n():
        return Value(None, too_few(whole), whole, suppressed=True)
    percent = 100 * part / whole
    return Value(percent, f"{percent:.0f}%", whole)


def _on_time(facts: Facts) -> Value:
    return ratio(facts.n("closed_on_time"), facts.n("closed_target") + facts.open_past_due)


def _reopen_rate(facts: Facts) -> Value:
    return ratio(facts.n("closed_reopened"), facts.n("closed"))


def _open(facts: Facts) -> Value:
    n = sum(facts.backlog_by_day.values())
    return Value(n, count_text(n), n)


def _past_due(facts: Facts) -> Value:
    return Value(facts.open_past_due, count_text(facts.open_past_due), facts.open_past_due)


def hours_text(hours: float) -> str:
    if hours < 48:
        return gettext("%(hours).0f h") % {"hours": hours}
    days = round(hours / 24)
    return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}


def percentile(
    histogram: Sequence[tuple[float | None, int]], running: Sequence[tuple[float, int]], p: float
) -> Value:
    """The p-th percentile of durations: `histogram` holds finished ones as (bucket's upper
    bound in hours, count), `running` the unfinished as (hours so far, count).

    Read off the Kaplan-Meier curve, the forecast's own estimator (servicerequests/expected.py):
    a running request counts as still running at its age (censored), so requests still open
    push the answer later, as they will. The answer is a bucket's upper bound ("within 2
    days"). When too many are still open for the curve to reach p, the answer is "over" a
    time it is known to exceed: the p-th of all, each running one counted at its age so far."""
    n = sum(c for _, c in histogram) + sum(c for _, c in running)
    if n == 0:
        return Value(None, "—", 0, suppressed=True)
    if n < min_n():
        return Value(None, too_few(n), n, suppressed=True)
    entries = [(b if b is not None else float("inf"), c, False) for b, c in histogram if c]
    entries += [(h, c, True) for h, c in running if c]
    hours = np.array([e[0] for e in entries], dtype=float)
    counts = np.array([e[1] for e in entries], dtype=float)
    closed = np.array([not e[2] for e in entries], dtype=bool)
    found = expected.quantile(expected.km_curve(hours, closed, counts), p)
    if found is None:
        return _at_least(entries, n, p)
    if found == float("inf"):
        last = HOUR_BUCKETS[-2] or 0
        text = gettext("over %(time)s") % {"time": hours_text(last)}
        return Value(float(last), text, n, at_least=True)
    return Value(found, gettext("within %(time)s") % {"time": hours_text(found)}, n)


def _at_least(entries: list[tuple[float, int, bool]], n: int, p: float) -> Value:
    """A lower bound of the p-th percentile: the p-th of all, each running request counted as if
    it finished now (it takes at least that long)."""
    # A running request of age h sorts after a finished bucket whose bound is h or less.
    entries.sort(key=lambda e: (e[0], e[2]))
    rank = max(1, -(-int(p * n * 1000) // 1000))  # ceil(p * n), free of float noise
    seen = 0
    for hours, count, _still_open in entries:
        seen += count
        if seen >= rank:
            text = gettext("over %(time)s (still open)") % {"time": hours_text(hours)}
            return Value(hours, text, n, at_least=True)
    raise AssertionError("rank beyond the count")


def _ages(facts: Facts, by_day: dict[date, int]) -> list[tuple[float, int]]:
    # An open request's age counts whole days since the day it came in.
    return [(24.0 * (facts.today - day).days, n) for day, n in by_day.items()]


def _close_time(p: float) -> Callable[[Facts], Value]:
    def compute(facts: Facts) -> Value:
        histogram = [(b, facts.n(c)) for b, c in zip(HOUR_BUCKETS, CLOSE_COLUMNS, strict=True)]
        return percentile(histogram, _ages(facts, facts.open_by_day), p)

    return compute


def _first_response(facts: Facts) -> Value:
    histogram = [(b, facts.n(c)) for b, c in zip(HOUR_BUCKETS, RESPONSE_COLUMNS, strict=True)]
    return percentile(histogram, [], 0.5)


def _satisfaction(facts: Facts) -> Value:
    n = facts.satisfaction_n
    if n == 0:
        return Value(None, "—", 0, suppressed=True)
    if n < min_n():
        return Value(None, too_few(n), n, suppressed=True)
    mean = facts.satisfaction_sum / n
    return Value(mean, gettext("%(mean)s / 5") % {"mean": formats.number_format(mean, 1)}, n)


def _information(facts: Facts) -> Value:
    n = facts.information_contacts
    if n is None:
        return Value(None, "—", 0, suppressed=True)
    return Value(n, count_text(n), n)


def _average_close(facts: Facts) -> Value:
    n = facts.n("closed")
    if n == 0:
        return Value(None, "—", 0, suppressed=True)
    hours = facts.sums.get("closed_seconds", 0) / n / 3600
    return Value(hours, hours_text(hours), n)


CATALOGUE: list[Metric] = [
    Metric(
        "received",
        pgettext_lazy("report metric", "Received"),
        _("Requests received in the period."),
        _count("received"),
    ),
    Metric(
        "closed",
        pgettext_lazy("report metric", "Closed"),
        _(
            "Requests closed in the period (a request reopened and closed again counts once, "
            "on its last closing)."
        ),
        _count("closed"),
    ),
    Metric(
        "open",
        pgettext_lazy("report metric", "Open now"),
        _(
            "Requests not closed now, whenever received (imported history left open by an "
            "earlier system is not counted)."
        ),
        _open,
        higher_is_better=False,
    ),
    Metric(
        "past_due",
        pgettext_lazy("report metric", "Open past due"),
        _(
            "Requests still open whose due date fell in the period before today; a request "
            "whose clock was paused before its due date is not past due."
        ),
        _past_due,
        higher_is_better=False,
    ),
    Metric(
        "on_time",
        pgettext_lazy("report metric", "On time"),
        _(
            "Closed on time ÷ (closed with a due date + open past due), for the period. Open "
            "overdue requests count against it, so it cannot read 100% while work is late."
        ),
        _on_time,
        unit="percent",
        target_setting="CITY311_REPORTS_ON_TIME_TARGET",
    ),
    Metric(
        "close_median",
        pgettext_lazy("report metric", "Time to close, median"),
        _(
            "Half of the requests received in the period closed within this time; requests "
            "still open count as still running (their time so far)."
        ),
        _close_time(0.5),
        unit="hours",
        higher_is_better=False,
    ),
    Metric(
        "close_p90",
        pgettext_lazy("report metric", "Time to close, 90th percentile"),
        _(
            "Nine in ten requests received in the period closed within this time; requests "
            "still open count as still running."
        ),
        _close_time(0.9),
        unit="hours",
        higher_is_better=False,
    ),
    Metric(
        "first_response",
        pgettext_lazy("report metric", "First response, median"),
        _(
            "From filing to the first thing a person did (started, assigned, a public note or "
            "closed), for the requests received in the period that had one."
        ),
        _first_response,
        unit="hours",
        higher_is_better=False,
    ),
    Metric(
        "reopen_rate",
        pgettext_lazy("report metric", "Reopened"),
        _(
            "Requests closed in the period that were reopened at least once ÷ requests closed "
            "in the period."
        ),
        _reopen_rate,
        unit="percent",
        higher_is_better=False,
    ),
    Metric(
        "satisfaction",
        pgettext_lazy("report metric", "Satisfaction"),
        _(
            "Mean survey answer (1 very unsatisfied to 5 very satisfied) for requests closed in "
            "the period."
        ),
        _satisfaction,
        unit="score",
    ),
    Metric(
        "average_close",
        pgettext_lazy("report metric", "Average time to close"),
        _(
            "Mean of (closed minus received) over the requests closed in the period (the NYC "
            "charter's measure; the median says more)."
        ),
        _average_close,
        unit="hours",
        higher_is_better=False,
    ),
    Metric(
        "information",
        pgettext_lazy("report metric", "Information-only contacts"),
        _(
            "Calls, e-mails, chats and visits the call centre answered with information only, "
            "no request filed, in the period (its contact log). A type filter counts the "
            "contacts the call taker tagged with that type; a place, team or urgency filter "
            "has no answer (a contact has none)."
        ),
        _information,
        higher_is_better=None,
    ),
]
BY_KEY = {m.key: m for m in CATALOGUE}
TILES = [
    "received",
    "closed",
    "open",
    "past_due",
    "on_time",
    "close_median",
    "close_p90",
    "first_response",
    "reopen_rate",
    "satisfaction",
    "information",
]


def measure(facts: Facts, keys: list[str] | None = None) -> dict[str, Value]:
    """The named metrics (all by default) computed from `facts`."""
    return {key: BY_KEY[key].compute(facts) for key in keys or list(BY_KEY)}


def age_buckets(facts: Facts) -> list[tuple[str, int]]:
    """The open backlog by age in days since received, in AGE_BUCKETS."""
    counts = [0] * len(AGE_BUCKETS)
    for day, n in facts.backlog_by_day.items():
        age = (facts.today - day).days
        for i, (_label, low, high) in enumerate(AGE_BUCKETS):
            if age >= low and (high is None or age <= high):
                counts[i] += n
                break
    return [(str(bucket[0]), counts[i]) for i, bucket in enumerate(AGE_BUCKETS)]
