"""How long requests like this one really take here: the history's forecast beside the promise.

The SLA due date stays the contract (`due_at`, Open311's `expected_datetime`). Beside it the
resident reads what the city's own history says: "Most pothole requests in the Bronx are closed
within 4 days", the time by which 80% of such requests were closed, and a typical time.

Estimated per type x district (x season, where there is enough history for it), from each
group's newest requests, with the Kaplan-Meier estimator: a request still open counts as still
running at the time it was last known open (censored), so the long waits of open requests are
not forgotten (recent open cases would otherwise make the times look shorter). A group with fewer
than MIN_REQUESTS requests falls back to the type in the whole city, and then to nothing: the
pages say so, and only the SLA date is given.

`refresh` recomputes the daily rollup (`ExpectedClose`, ops/schedules.py); reading an estimate
(`for_request`) is one small query; filing a request costs nothing. `estimate_groups` is the
estimator itself, shared with the back-test (bench/expected.py).

The point forecast ("a request like this one typically takes about 2 days") is the middle of
the shortest span in which half the type's requests closed, city-wide, the recent ones weighing
most (`typical_of`); the 80% time is
calibrated on the newest requests (`calibration_factor`) so that it covers 80% of what comes next.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction
from django.db.models import TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from city311.servicerequests.models import ExpectedClose, ServiceRequest

# "Most are closed within": the share of requests the stated time covers.
MOST = 0.8
TYPICAL = 0.5
# Fewer requests than this in a group: its estimate is not told.
MIN_REQUESTS = 30
# Each group's newest requests only: what is current, not what was true years ago.
RECENT = 400
SNAPSHOT_WINDOW = timedelta(days=31)
# The newest requests held out to calibrate the 80% time (calibration_factor), at least this many.
CALIBRATION_WINDOW = timedelta(days=28)
CALIBRATION_MIN = 200
# The point forecast weighs a request half as much as one this much newer (typical_of).
TYPICAL_HALF_LIFE = timedelta(days=90)
# The area kinds that name a district, most telling first; the first a request has is used.
DISTRICT_KINDS = (
    "borough",
    "council_district",
    "community_district",
    "neighborhood",
    "service_zone",
)
SEASONS = {
    12: "winter",
    1: "winter",
    2: "winter",
    3: "spring",
    4: "spring",
    5: "spring",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "fall",
    10: "fall",
    11: "fall",
}


@dataclass(frozen=True)
class Case:
    """One request as the estimator sees it."""

    type_id: int
    district: str  # area code, "" when not located
    requested_at: datetime
    closed_at: datetime | None
    # For an open request: when it was last known to be open.
    open_until: datetime
    channel: str = ""

    @property
    def season(self) -> str:
        return SEASONS[self.requested_at.month]


@dataclass(frozen=True)
class Stats:
    requests: int
    closed: int
    most_within_hours: float | None
    typical_hours: float | None


def km_curve(
    hours: np.ndarray, closed: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier: the times requests closed and the share closed by each of them.

    `hours`: each request's time to close, or, when still open (`closed` False), the time it had
    been open. Product over the closings of (1 - closed then / at risk); censorings only shrink
    the risk set. `weights` counts each entry as that many requests (the reports' histograms:
    a bucket's bound and its count); one each when not given.

    The one time-to-close estimator: the forecast here and the reports' median and p90
    (reports/metrics.py) both read it.
    """
    order = np.lexsort((~closed, hours))  # at equal times, closings before censorings
    hours, closed = hours[order], closed[order]
    if weights is None:
        at_risk = len(hours) - np.arange(len(hours))
        survival = np.cumprod(np.where(closed, 1.0 - 1.0 / at_risk, 1.0))
    else:
        weights = weights[order].astype(float)
        at_risk = weights.sum() - np.concatenate(([0.0], np.cumsum(weights)[:-1]))
        survival = np.cumprod(np.where(closed, 1.0 - weights / at_risk, 1.0))
    return hours[closed], 1.0 - survival[closed]


def quantile(curve: tuple[np.ndarray, np.ndarray], q: float) -> float | None:
    """The first time by which a share q had closed; None when the history never reaches it
    (too many still open)."""
    times, share = curve
    reached = np.nonzero(share >= q - 1e-12)[0]
    return float(times[reached[0]]) if len(reached) else None


def densest_half_middle(curve: tuple[np.ndarray, np.ndarray]) -> float | None:
    """The middle of the shortest span of time in which half the requests closed.

    The point forecast: the time that makes the median absolute error smallest (the error is
    within r for half the requests when half closed within r of it), which for times this
    skewed lies well below the median, nearer the common short cases. None when half never
    closed."""
    times, share = curve
    if not len(times) or share[-1] < TYPICAL - 1e-12:
        return None
    before = np.concatenate(([0.0], share[:-1]))  # the share closed before each closing
    # For each first closing i, the first closing j by which half had closed from i on.
    ends = np.searchsorted(share, before + TYPICAL - 1e-12, side="left")
    starts = np.nonzero(ends < len(times))[0]
    widths = times[ends[starts]] - times[starts]
    best = starts[int(np.argmin(widths))]
    return float((times[best] + times[ends[best]]) / 2)


def stats(cases: list[Case], as_of: datetime) -> Stats:
    cases = sorted(cases, key=lambda c: c.requested_at, reverse=True)[:RECENT]
    hours, closed = [], []
    for c in cases:
        done = c.closed_at is not None and c.closed_at <= as_of
        end = c.closed_at if done else min(c.open_until, as_of)
        assert end is not None
        hours.append(max((end - c.requested_at).total_seconds() / 3600, 0.0))
        closed.append(done)
    curve = km_curve(np.array(hours), np.array(closed, dtype=bool))
    return Stats(len(cases), int(sum(closed)), quantile(curve, MOST), densest_half_middle(curve))


def estimate_groups(cases: Iterable[Case], as_of: datetime) -> dict[tuple[int, str, str], Stats]:
    """Every group's estimate as of a time: (type, district, season), (type, district, ""),
    (type, "", "") - only the cases requested before `as_of` count. The "most within" times are
    as the history has them: `forecast_groups` calibrates them."""
    groups: dict[tuple[int, str, str], list[Case]] = defaultdict(list)
    for c in cases:
        if c.requested_at >= as_of:
            continue
        groups[(c.type_id, "", "")].append(c)
        if c.district:
            groups[(c.type_id, c.district, "")].append(c)
            groups[(c.type_id, c.district, c.season)].append(c)
    estimates = {key: stats(found, as_of) for key, found in groups.items()}
    # The typical time is the type's, city-wide, in every group (fully pooled), from all its
    # requests weighted by recency (`typical_of`). The 80% time stays the group's
    # (bench/expected.py), and the typical time is never more than it: "most within 1 day" and
    # "typically about 3 days" would contradict.
    typical = {key[0]: typical_of(found, as_of) for key, found in groups.items() if not key[1]}
    return {
        key: replace(found, typical_hours=_typical(found, typical[key[0]]))
        for key, found in estimates.items()
    }


def typical_of(cases: list[Case], as_of: datetime) -> float | None:
    """The point forecast for a type: the densest-half middle of its Kaplan-Meier curve, each
    request weighted by how recent it is (half as much every TYPICAL_HALF_LIFE older than the
    type's newest request; those past 2^-13 are left out).

    Back-tested on a continuous history (San Francisco's 2008-2018 export, monthly cut-offs,
    bench/expected.py --records), choosing on the months before the last twelve: the median
    absolute error 18% below the per-type median's with the newest 400 requests alike, 28-29%
    with a half-life of 60-180 days (25% at 30 days; the type x district's own, 24-27%)."""
    newest = max(c.requested_at for c in cases)
    hours, closed, weights = [], [], []
    for c in cases:
        age = (newest - c.requested_at) / TYPICAL_HALF_LIFE
        if age > 13:
            continue
        done = c.closed_at is not None and c.closed_at <= as_of
        end = c.closed_at if done else min(c.open_until, as_of)
        hours.append(_hours_between(c.requested_at, end))
        closed.append(done)
        weights.append(0.5**age)
    return densest_half_middle(
        km_curve(np.array(hours), np.array(closed, dtype=bool), np.array(weights))
    )


def _typical(group: Stats, typical: float | None) -> float | None:
    if typical is None:
        return group.typical_hours
    if group.most_within_hours is None:
        return typical
    return min(typical, group.most_within_hours)


def calibration_factor(cases: list[Case], as_of: datetime) -> float:
    """How much the history's 80% times must be stretched so that 80% of new requests close
    within them (split conformal calibration, with the open requests censored).

    The newest requests before `as_of` (those of the last CALIBRATION_WINDOW, or the newest
    fifth when that is too few) are held out; the estimate made just before them, from the rest
    and what was known then, tells each one a time; each one's score is its time to close (as
    known at `as_of`, still running when open) over what it was told. The factor is the 80%
    point of the scores (Kaplan-Meier again), from at least MIN_REQUESTS of them, as a group's
    80% time is; 1.0 when fewer can be scored."""
    past = sorted((c for c in cases if c.requested_at < as_of), key=lambda c: c.requested_at)
    split = as_of - CALIBRATION_WINDOW
    k = int(np.searchsorted([c.requested_at.timestamp() for c in past], split.timestamp()))
    if min(k, len(past) - k) < CALIBRATION_MIN:
        k = int(len(past) * 0.8)
        if k == len(past):
            return 1.0
        split = past[k].requested_at
    earlier = estimate_groups(past[:k], split)
    scores, closed = [], []
    for c in past[k:]:
        told = pick(earlier, c.type_id, c.district, c.season)
        if told is None:
            continue
        done = c.closed_at is not None and c.closed_at <= as_of
        end = c.closed_at if done else min(c.open_until, as_of)
        assert end is not None and told[1].most_within_hours is not None
        scores.append(_hours_between(c.requested_at, end) / told[1].most_within_hours)
        closed.append(done)
    n = len(scores)
    if n < MIN_REQUESTS:
        return 1.0
    # Split conformal's level: the ceil((n + 1) * 80%)-th of n scores, not the 80% point, covers
    # 80% of a new request (the new one is the (n + 1)-th); the plain 80% point falls short by
    # up to 1/n (on the demo's history 77.5% instead of 78.0%).
    level = min(np.ceil((n + 1) * MOST) / n, 1.0)
    factor = quantile(km_curve(np.array(scores), np.array(closed, dtype=bool)), level)
    # Never reached: more than a fifth still open beyond what they were told.
    return factor if factor is not None else max(scores)


def forecast_groups(cases: list[Case], as_of: datetime) -> dict[tuple[int, str, str], Stats]:
    """What is told as of a time: every group's estimate, its 80% time calibrated."""
    factor = calibration_factor(cases, as_of)
    return {
        key: replace(
            found,
            most_within_hours=found.most_within_hours * factor
            if found.most_within_hours is not None
            else None,
        )
        for key, found in estimate_groups(cases, as_of).items()
    }


def pick(
    estimates: dict[tuple[int, str, str], Stats], type_id: int, district: str, season: str
) -> tuple[tuple[int, str, str], Stats] | None:
    """The most specific group with enough history and an answer."""
    for key in _keys(type_id, district, season):
        found = estimates.get(key)
        if _enough(found):
            assert found is not None
            return key, found
    return None


def _keys(type_id: int, district: str, season: str) -> list[tuple[int, str, str]]:
    keys = [(type_id, district, season), (type_id, district, "")] if district else []
    return [*keys, (type_id, "", "")]


def _enough(found: Stats | None) -> bool:
    return found is not None and found.requests >= MIN_REQUESTS and bool(found.most_within_hours)


def district_of(areas: dict) -> tuple[str, str]:
    """A request's district (code, name) from its areas snapshot; ("", "") when none."""
    for kind in DISTRICT_KINDS:
        area = (areas or {}).get(kind)
        if area:
            return str(area.get("code", "")), str(area.get("name", ""))
    return "", ""


def cases_from_database() -> list[Case]:
    """Every request as a Case. One of the city's own open requests is known open now. An
    imported open request (`historical`, whatever channel its export names) was known open when
    its records were exported, which they do not say: taken as the latest time any imported
    record requested within SNAPSHOT_WINDOW of it shows (a request or a closing), so an
    export's open records are not taken as open for years.
    """
    now = timezone.now()
    # The district's code is read by the database (as district_of reads it): decoding every
    # request's areas in Python took 34 s of CPU at 1,000,000 requests, past the task's limit.
    codes = (KT(f"areas__{kind}__code") for kind in DISTRICT_KINDS)
    district = Coalesce(*codes, Value(""), output_field=TextField())
    rows = list(
        ServiceRequest.objects.annotate(district=district)
        .values_list(
            "service_type_id", "district", "requested_at", "closed_at", "channel", "historical"
        )
        .iterator(chunk_size=5000)
    )
    imported = sorted((r[2].timestamp(), (r[3] or r[2]).timestamp()) for r in rows if r[5])
    at = np.array([i[0] for i in imported])
    latest = np.array([i[1] for i in imported])
    window = SNAPSHOT_WINDOW.total_seconds()

    def known_open_until(requested_at: datetime) -> datetime:
        t = requested_at.timestamp()
        lo, hi = np.searchsorted(at, [t - window, t + window], side="right")
        seen = float(latest[lo:hi].max()) if hi > lo else t
        return datetime.fromtimestamp(max(seen, t), tz=requested_at.tzinfo)

    return [
        Case(
            type_id,
            district,
            requested_at,
            closed_at,
            (closed_at or known_open_until(requested_at)) if historical else now,
            channel,
        )
        for type_id, district, requested_at, closed_at, channel, historical in rows
    ]


def refresh() -> str:
    """Recompute the rollup (daily, ops/schedules.py)."""
    now = timezone.now()
    names: dict[str, str] = {}
    for areas in ServiceRequest.objects.values_list("areas", flat=True).distinct()[:10_000]:
        code, name = district_of(areas)
        names.setdefault(code, name)
    estimates = forecast_groups(cases_from_database(), now)
    rows = [
        ExpectedClose(
            service_type_id=type_id,
            district=district,
            district_name=names.get(district, "") if district else "",
            season=season,
            requests=found.requests,
            closed=found.closed,
            most_within_hours=found.most_within_hours,
            typical_hours=found.typical_hours,
            computed_at=now,
        )
        for (type_id, district, season), found in estimates.items()
    ]
    with transaction.atomic():
        ExpectedClose.objects.all().delete()
        ExpectedClose.objects.bulk_create(rows, batch_size=1000)
    forget_rollup()
    return f"{len(rows)} estimates"


@dataclass(frozen=True)
class Estimate:
    most_within_hours: float
    typical_hours: float | None  # the point forecast: about how long one like it takes
    requests: int
    district_name: str  # "" for the whole city

    def sentence(self, service_name: str) -> str:
        """ "Most Pothole requests in Bronx are closed within 4 days. A request like this one
        typically takes about 2 days." in the active language."""
        within = duration_words(self.most_within_hours)
        if self.district_name:
            most = gettext(
                "Most %(service)s requests in %(district)s are closed within %(time)s."
            ) % {"service": service_name, "district": self.district_name, "time": within}
        else:
            most = gettext("Most %(service)s requests are closed within %(time)s.") % {
                "service": service_name,
                "time": within,
            }
        if self.typical_hours is None:
            return most
        typical = gettext("A request like this one typically takes about %(time)s.") % {
            "time": about_words(self.typical_hours)
        }
        return f"{most} {typical}"


def duration_words(hours: float) -> str:
    """Rounded up, so "within" stays true: 5 hours, 1 day, 4 days, 3 weeks."""
    if hours < 24:
        n = max(int(np.ceil(hours)), 1)
        return ngettext("%(n)s hour", "%(n)s hours", n) % {"n": n}
    days = int(np.ceil(hours / 24))
    if days < 21:
        return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}
    weeks = int(np.ceil(days / 7))
    return ngettext("%(n)s week", "%(n)s weeks", weeks) % {"n": weeks}


def about_words(hours: float) -> str:
    """Rounded to the nearest, for "about": 1 hour, 7 hours, 2 days, 3 weeks."""
    if hours < 23.5:
        n = max(round(hours), 1)
        return ngettext("%(n)s hour", "%(n)s hours", n) % {"n": n}
    days = max(round(hours / 24), 1)
    if days < 21:
        return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}
    weeks = round(days / 7)
    return ngettext("%(n)s week", "%(n)s weeks", weeks) % {"n": weeks}


# Each process reads the whole rollup (a few rows per type) at most this often: a lookup is
# then a dictionary's, and a list of requests costs no query per request.
ROLLUP_TTL = 600.0
_rollup: tuple[float, dict[tuple[int, str, str], tuple[Stats, str]]] = (-ROLLUP_TTL, {})


def rollup() -> dict[tuple[int, str, str], tuple[Stats, str]]:
    global _rollup
    read_at, rows = _rollup
    if time.monotonic() - read_at >= ROLLUP_TTL:
        rows = {
            (r.service_type_id, r.district, r.season): (
                Stats(r.requests, r.closed, r.most_within_hours, r.typical_hours),
                r.district_name,
            )
            for r in ExpectedClose.objects.all()
        }
        _rollup = (time.monotonic(), rows)
    return rows


def forget_rollup() -> None:
    """The next lookup reads the rollup again (after `refresh`, and in tests)."""
    global _rollup
    _rollup = (-ROLLUP_TTL, {})


def for_request(sr: ServiceRequest) -> Estimate | None:
    """What the rollup says for a request like this one; None with too little history."""
    district, _name = district_of(sr.areas)
    season = SEASONS[timezone.localtime(sr.requested_at).month]
    rows = rollup()
    for key in _keys(sr.service_type_id, district, season):
        found, district_name = rows.get(key, (None, ""))
        if _enough(found):
            assert found is not None and found.most_within_hours is not None
            return Estimate(
                found.most_within_hours, found.typical_hours, found.requests, district_name
            )
    return None


def expected_words(sr: ServiceRequest, language: str | None = None) -> str:
    """The forecast for an open request ("" when closed or with too little history), in
    `language` (default: the active one), with the type's name in that language."""
    if sr.is_closed:
        return ""
    estimate = for_request(sr)
    if estimate is None:
        return ""
    with translation.override(language or translation.get_language()):
        return estimate.sentence(sr.service_type.translated("service_name", language))


def thin_words(sr: ServiceRequest, language: str | None = None) -> str:
    """What a page says of an open request the history cannot speak for ("" when it can, or
    the request is closed): that nothing is claimed, and that the date shown is the target."""
    if sr.is_closed or for_request(sr) is not None:
        return ""
    with translation.override(language or translation.get_language()):
        return gettext(
            "There is not yet enough history of %(service)s requests here to say how long "
            "they take: the expected date is the city's target."
        ) % {"service": sr.service_type.translated("service_name", language)}


def _hours_between(start: datetime, end: datetime | None) -> float:
    assert end is not None
    return max((end - start).total_seconds() / 3600, 0.0)
