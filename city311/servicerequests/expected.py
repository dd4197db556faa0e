"""How long requests like this one really take here: the history's forecast beside the promise.

The SLA due date stays the contract (`due_at`, Open311's `expected_datetime`). Beside it the
resident reads what the city's own history says: "Most pothole requests in the Bronx are closed
within 4 days", the time by which 80% of such requests were closed, and a typical (median) time.

Estimated per type x district (x season, where there is enough history for it), from each
group's newest requests, with the Kaplan-Meier estimator: a request still open counts as still
running at the time it was last known open (censored), so the long waits of open requests are
not forgotten (recent open cases would otherwise make the times look shorter). A group with fewer
than MIN_REQUESTS requests falls back to the type in the whole city, and then to nothing: the
pages say only the SLA then.

`refresh` recomputes the daily rollup (`ExpectedClose`, ops/schedules.py); reading an estimate
(`for_request`) is one small query; filing a request costs nothing. `estimate_groups` is the
estimator itself, shared with the back-test (bench/expected.py) and the reports.

`fit_point` is a candidate point forecast (a conditional median from what is known at filing),
back-tested beside the Kaplan-Meier median by bench/expected.py; the pages do not use it yet.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from city311.servicerequests.models import Channel, ExpectedClose, ServiceRequest

# "Most are closed within": the share of requests the stated time covers.
MOST = 0.8
TYPICAL = 0.5
# Fewer requests than this in a group: its estimate is not told.
MIN_REQUESTS = 30
# Each group's newest requests only: what is current, not what was true years ago.
RECENT = 400
SNAPSHOT_WINDOW = timedelta(days=31)
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
    # Requests of the same type filed before it and not closed when it was filed.
    backlog: int = 0

    @property
    def season(self) -> str:
        return SEASONS[self.requested_at.month]


@dataclass(frozen=True)
class Stats:
    requests: int
    closed: int
    most_within_hours: float | None
    typical_hours: float | None


def km_quantiles(
    hours: np.ndarray, closed: np.ndarray, qs: tuple[float, ...]
) -> list[float | None]:
    """Kaplan-Meier: for each q, the first time by which a share q of requests had closed.

    `hours`: each request's time to close, or, when still open (`closed` False), the time it had
    been open. None for a q the history never reaches (too many still open).
    """
    order = np.lexsort((~closed, hours))  # at equal times, closings before censorings
    hours, closed = hours[order], closed[order]
    at_risk = len(hours) - np.arange(len(hours))
    # Product over the closings of (1 - 1/at risk); censorings only shrink the risk set.
    factors = np.where(closed, 1.0 - 1.0 / at_risk, 1.0)
    survival = np.cumprod(factors)
    found: list[float | None] = []
    for q in qs:
        reached = np.nonzero(closed & (survival <= 1.0 - q + 1e-12))[0]
        found.append(float(hours[reached[0]]) if len(reached) else None)
    return found


def stats(cases: list[Case], as_of: datetime) -> Stats:
    cases = sorted(cases, key=lambda c: c.requested_at, reverse=True)[:RECENT]
    hours, closed = [], []
    for c in cases:
        done = c.closed_at is not None and c.closed_at <= as_of
        end = c.closed_at if done else min(c.open_until, as_of)
        assert end is not None
        hours.append(max((end - c.requested_at).total_seconds() / 3600, 0.0))
        closed.append(done)
    most, typical = km_quantiles(np.array(hours), np.array(closed, dtype=bool), (MOST, TYPICAL))
    return Stats(len(cases), int(sum(closed)), most, typical)


def estimate_groups(cases: Iterable[Case], as_of: datetime) -> dict[tuple[int, str, str], Stats]:
    """Every group's estimate as of a time: (type, district, season), (type, district, ""),
    (type, "", "") - only the cases requested before `as_of` count."""
    groups: dict[tuple[int, str, str], list[Case]] = defaultdict(list)
    for c in cases:
        if c.requested_at >= as_of:
            continue
        groups[(c.type_id, "", "")].append(c)
        if c.district:
            groups[(c.type_id, c.district, "")].append(c)
            groups[(c.type_id, c.district, c.season)].append(c)
    return {key: stats(found, as_of) for key, found in groups.items()}


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
    imported open request was known open when its records were exported, which they do not say:
    taken as the latest time any imported record requested within SNAPSHOT_WINDOW of it
    shows (a request or a closing), so an export's open records are not taken as open for years.
    """
    now = timezone.now()
    rows = list(
        ServiceRequest.objects.values_list(
            "service_type_id", "areas", "requested_at", "closed_at", "channel"
        ).iterator(chunk_size=5000)
    )
    imported = sorted(
        (r[2].timestamp(), (r[3] or r[2]).timestamp()) for r in rows if r[4] == Channel.IMPORT
    )
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
            district_of(areas)[0],
            requested_at,
            closed_at,
            now if channel != Channel.IMPORT else (closed_at or known_open_until(requested_at)),
            channel,
        )
        for type_id, areas, requested_at, closed_at, channel in rows
    ]


def refresh() -> str:
    """Recompute the rollup (daily, ops/schedules.py)."""
    now = timezone.now()
    names: dict[str, str] = {}
    for areas in ServiceRequest.objects.values_list("areas", flat=True).distinct()[:10_000]:
        code, name = district_of(areas)
        names.setdefault(code, name)
    estimates = estimate_groups(cases_from_database(), now)
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
    typical_hours: float | None
    requests: int
    district_name: str  # "" for the whole city

    def sentence(self, service_name: str) -> str:
        """ "Most Pothole requests in Bronx are closed within 4 days." in the active language."""
        within = duration_words(self.most_within_hours)
        if self.district_name:
            return gettext(
                "Most %(service)s requests in %(district)s are closed within %(time)s."
            ) % {"service": service_name, "district": self.district_name, "time": within}
        return gettext("Most %(service)s requests are closed within %(time)s.") % {
            "service": service_name,
            "time": within,
        }


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
    """The sentence for an open request ("" when closed or with too little history), in
    `language` (default: the active one), with the type's name in that language."""
    if sr.is_closed:
        return ""
    estimate = for_request(sr)
    if estimate is None:
        return ""
    with translation.override(language or translation.get_language()):
        return estimate.sentence(sr.service_type.translated("service_name", language))


# The point forecast ("How long it usually takes"). The time that minimises the median absolute
# error is a conditional median: a gradient-boosted model with the absolute error loss, on the
# log of the hours (the median of the log is the log of the median), from what is known when a
# request is filed: its type, district, hour and day of the week, month, channel and how many
# requests of its type were still open then (the backlog: the one feature that helps on the
# demo's history, bench/expected.py). Trained on the closed requests: the range above (Kaplan-
# Meier) is the part that must not forget the open ones.
POINT_MIN_CLOSED = 200
# The backlog counts the requests filed this long before: an old export's open records (whose
# fate is unknown) do not count for ever.
BACKLOG_WINDOW = timedelta(days=31)
# Categories beyond this many (the model's bins) share the "unknown" one.
POINT_CATEGORIES = 250
POINT_TRUSTED = [
    "builtins.dict",
    "builtins.float",
    "builtins.int",
    "builtins.list",
    "builtins.str",
    "builtins.tuple",
    # A partial of sklearn's check_array (the model's own input check); skops checks the
    # function a partial wraps as a type of its own.
    "functools.partial",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "numpy.ndarray",
    "numpy.random._mt19937.MT19937",
    "numpy.random.mtrand.RandomState",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.loss.AbsoluteError",
    "sklearn._loss.loss.PinballLoss",
    "sklearn.ensemble._hist_gradient_boosting._bitset.BitsetArray",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
]


@dataclass
class PointModel:
    """The point forecast's model with the codes of its categories (type, district, channel)."""

    model: object  # HistGradientBoostingRegressor
    codes: dict[str, dict[str, int]]

    def features(self, cases: list[Case]) -> np.ndarray:
        rows = []
        for c in cases:
            local = timezone.localtime(c.requested_at)
            rows.append(
                [
                    self._code("type", str(c.type_id)),
                    self._code("district", c.district),
                    local.hour,
                    local.weekday(),
                    local.month,
                    self._code("channel", c.channel),
                    c.backlog,
                ]
            )
        return np.array(rows, dtype=float)

    def _code(self, kind: str, value: str) -> float:
        return float(self.codes[kind].get(value, np.nan))

    def hours(self, cases: list[Case]) -> np.ndarray:
        predicted = self.model.predict(self.features(cases))  # type: ignore[attr-defined]
        return np.maximum(np.expm1(predicted), 0.0)

    def dumps(self) -> bytes:
        import skops.io as sio

        return sio.dumps({"model": self.model, "codes": self.codes})

    @classmethod
    def loads(cls, data: bytes) -> PointModel:
        """Built from the trusted types only (skops refuses any other)."""
        import skops.io as sio

        untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in POINT_TRUSTED]
        if untrusted:
            raise ValueError(f"The stored model holds types city311 does not trust: {untrusted}")
        found = sio.loads(data, trusted=POINT_TRUSTED)
        return cls(found["model"], found["codes"])


def with_backlog(cases: list[Case]) -> list[Case]:
    """Each case with its backlog: the requests of its type filed in the BACKLOG_WINDOW before
    it and not closed when it was filed (what `backlog_at` counts in the database)."""
    by_type: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        by_type[c.type_id].append(i)
    backlog = [0] * len(cases)
    window = BACKLOG_WINDOW.total_seconds()
    for indexes in by_type.values():
        indexes.sort(key=lambda i: cases[i].requested_at)
        filed = np.array([cases[i].requested_at.timestamp() for i in indexes])
        closed = np.array(
            [
                c.closed_at.timestamp() if c.closed_at else np.inf
                for c in (cases[i] for i in indexes)
            ]
        )
        starts = np.searchsorted(filed, filed - window, side="left")
        ends = np.searchsorted(filed, filed, side="left")
        for k, i in enumerate(indexes):
            backlog[i] = int(np.count_nonzero(closed[starts[k] : ends[k]] > filed[k]))
    return [replace(c, backlog=b) for c, b in zip(cases, backlog, strict=True)]


def backlog_at(type_id: int, at: datetime) -> int:
    """The open requests of a type filed in the BACKLOG_WINDOW before `at` (one counting query)."""
    return (
        ServiceRequest.objects.filter(
            service_type_id=type_id, requested_at__gte=at - BACKLOG_WINDOW, requested_at__lt=at
        )
        .exclude(closed_at__lte=at)
        .count()
    )


def fit_point(cases: list[Case], as_of: datetime) -> PointModel | None:
    """The point model from the requests filed and closed by `as_of`; None with too few."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    done = [
        c
        for c in cases
        if c.requested_at < as_of and c.closed_at is not None and c.closed_at <= as_of
    ]
    if len(done) < POINT_MIN_CLOSED:
        return None
    codes: dict[str, dict[str, int]] = {}
    for kind, values in (
        ("type", (str(c.type_id) for c in done)),
        ("district", (c.district for c in done)),
        ("channel", (c.channel for c in done)),
    ):
        common = Counter(values).most_common(POINT_CATEGORIES)
        codes[kind] = {value: n for n, (value, _count) in enumerate(common)}
    point = PointModel(
        HistGradientBoostingRegressor(
            loss="absolute_error",
            categorical_features=[0, 1, 5],
            max_iter=150,
            min_samples_leaf=20,
            random_state=0,
        ),
        codes,
    )
    took = [_hours_between(c.requested_at, c.closed_at) for c in done]
    point.model.fit(point.features(done), np.log1p(took))  # type: ignore[attr-defined]
    return point


def _hours_between(start: datetime, end: datetime | None) -> float:
    assert end is not None
    return max((end - start).total_seconds() / 3600, 0.0)
