"""The call centre's figures for a day: what the supervisor's live view and the reports read.

Percentiles are nearest-rank (the p90 of ten handle times is the ninth smallest), so every
figure is one a contact actually had. Handle times are those end_interaction measured.
"""

from __future__ import annotations

import csv
import io
import math
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from city311.cities import profile
from city311.contacts.models import Interaction, Kind, WrapUp
from city311.servicerequests.vocabulary import CONTACT_CHANNELS, Channel

REPEAT_DAYS = 7
ANSWER_TARGET_S = 10  # NYC 311's mandate: 85% of calls answered within 10 s
ANSWER_TARGET_SHARE = 0.85
# Montgomery County MC311's published targets: the average call under 240 s, under 5% abandoned.
HANDLE_TARGET_S = 240
ABANDONED_TARGET_SHARE = 0.05


def nearest_rank(values: list[int], percent: int) -> int:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


@dataclass
class HandleTimes:
    label: str
    count: int
    median: float
    p90: int


@dataclass
class DayFigures:
    day: date
    contacts: int = 0
    open_now: int = 0
    by_kind: list[tuple[str, int]] = field(default_factory=list)
    by_channel: list[tuple[str, int]] = field(default_factory=list)
    by_staff: list[HandleTimes] = field(default_factory=list)
    by_type: list[HandleTimes] = field(default_factory=list)
    top_information: list[tuple[str, int]] = field(default_factory=list)
    repeat_callers: int = 0
    # The mean of every handle time measured (MC311's "average call"), none before the first.
    mean_handle_seconds: float | None = None
    transfers: list[tuple[str, int]] = field(default_factory=list)
    # Only when the phone system sends its events (calls with a call_id).
    calls_offered: int = 0
    answered_within_target: int = 0
    mean_speed_of_answer: float | None = None
    abandoned: int = 0

    @property
    def inquiries_share(self) -> float | None:
        wrapped = sum(n for _, n in self.by_kind)
        info = dict(self.by_kind).get(str(Kind.INFORMATION.label), 0)
        return info / wrapped if wrapped else None

    @property
    def abandoned_rate(self) -> float | None:
        return self.abandoned / self.calls_offered if self.calls_offered else None

    @property
    def answered_within_target_rate(self) -> float | None:
        answered = self.calls_offered - self.abandoned
        return self.answered_within_target / answered if answered > 0 else None

    @property
    def missed(self) -> list[str]:
        """The targets the day missed: "handle", "abandoned", "answer" (none when unknown)."""
        missed = []
        if self.mean_handle_seconds is not None and self.mean_handle_seconds >= HANDLE_TARGET_S:
            missed.append("handle")
        if self.abandoned_rate is not None and self.abandoned_rate >= ABANDONED_TARGET_SHARE:
            missed.append("abandoned")
        answer = self.answered_within_target_rate
        if answer is not None and answer < ANSWER_TARGET_SHARE:
            missed.append("answer")
        return missed


TARGETS = {
    "handle_s": HANDLE_TARGET_S,
    "abandoned_percent": round(ABANDONED_TARGET_SHARE * 100),
    "answer_s": ANSWER_TARGET_S,
    "answer_percent": round(ANSWER_TARGET_SHARE * 100),
}


def city_today() -> date:
    return timezone.localdate(timezone=profile.zone())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The city's local day, as UTC moments: [start, end)."""
    tz = profile.zone()
    start = timezone.make_aware(datetime.combine(day, time.min), tz)
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)


def log_version(day: date | None = None) -> str:
    """A fingerprint of `day`'s contact log (today by default): it changes whenever a contact
    of the day starts, is answered, wrapped up or ends. The supervisor's page carries the one
    its figures were read at; its stream wakes when the log's is no longer that. One
    aggregate over the day's rows (interaction_started_at)."""
    start, end = day_bounds(day or city_today())
    found = Interaction.objects.filter(started_at__gte=start, started_at__lt=end).aggregate(
        n=Count("id"),
        last=Max("id"),
        answered=Count("answered_at"),
        wrapped=Count("id", filter=~Q(kind="")),
        ended=Count("ended_at"),
    )
    day_key = (day or city_today()).isoformat()
    counts = (found[k] or 0 for k in ("n", "last", "answered", "wrapped", "ended"))
    return day_key + "." + ".".join(str(v) for v in counts)


def _times(label: str, values: list[int]) -> HandleTimes:
    return HandleTimes(label, len(values), median(values), nearest_rank(values, 90))


def figures_for(day: date | None = None) -> DayFigures:
    """Every contact that started on `day` (the city's local date; today by default)."""
    day = day or city_today()
    start, end = day_bounds(day)
    rows = list(
        Interaction.objects.filter(started_at__gte=start, started_at__lt=end)
        .select_related("staff", "service_type", "article")
        .order_by()
    )
    out = DayFigures(day=day, contacts=len(rows))
    kinds, channels, transfers, articles = (
        Counter[str](),
        Counter[str](),
        Counter[str](),
        Counter[str](),
    )
    by_staff: dict[str, list[int]] = defaultdict(list)
    by_type: dict[str, list[int]] = defaultdict(list)
    speeds: list[int] = []
    handles: list[int] = []
    for row in rows:
        channels[str(Channel(row.channel).label)] += 1
        if row.call_id:
            out.calls_offered += 1
            if row.wrap_up == WrapUp.ABANDONED:
                out.abandoned += 1
            elif row.speed_of_answer_seconds is not None:
                speeds.append(row.speed_of_answer_seconds)
        if not row.kind:
            out.open_now += row.ended_at is None
            continue
        kinds[str(Kind(row.kind).label)] += 1
        if row.kind == Kind.TRANSFER:
            transfers[str(WrapUp(row.wrap_up).label)] += 1
        if row.kind == Kind.INFORMATION and row.article is not None:
            articles[row.article.title] += 1
        if row.handle_seconds is not None:
            handles.append(row.handle_seconds)
            who = row.staff.get_full_name() or row.staff.get_username() if row.staff else "—"
            by_staff[who].append(row.handle_seconds)
            what = row.service_type.service_name if row.service_type else str(Kind(row.kind).label)
            by_type[what].append(row.handle_seconds)
    out.by_kind = kinds.most_common()
    out.by_channel = channels.most_common()
    out.transfers = transfers.most_common()
    out.top_information = articles.most_common(15)
    out.by_staff = [_times(k, v) for k, v in sorted(by_staff.items())]
    out.by_type = [_times(k, v) for k, v in sorted(by_type.items())]
    out.repeat_callers = _repeat_callers(rows, start)
    if handles:
        out.mean_handle_seconds = sum(handles) / len(handles)
    if speeds:
        out.mean_speed_of_answer = sum(speeds) / len(speeds)
        out.answered_within_target = sum(s <= ANSWER_TARGET_S for s in speeds)
    return out


def _repeat_callers(rows: list[Interaction], start: datetime) -> int:
    """Numbers that called on the day and also in the seven days before that call."""
    today: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        if row.phone:
            today[row.phone].append(row.started_at)
    earlier: dict[str, list[datetime]] = defaultdict(list)
    for phone, at in Interaction.objects.filter(
        phone__in=list(today),
        started_at__gte=start - timedelta(days=REPEAT_DAYS),
        started_at__lt=start,
    ).values_list("phone", "started_at"):
        earlier[phone].append(at)
    repeat = 0
    for phone, moments in today.items():
        moments.sort()
        before = earlier.get(phone, [])
        if len(moments) > 1 or any(
            moments[0] - timedelta(days=REPEAT_DAYS) <= at < moments[0] for at in before
        ):
            repeat += 1
    return repeat


# Weekly and monthly totals, as the reports read them ------------------------------------------

GRAINS = ("week", "month")
# The most periods one table holds: a year of weeks, five years of months.
MAX_PERIODS = {"week": 53, "month": 60}
NOT_WRAPPED = ""  # a contact still open (or never wrapped up) has no kind yet


@dataclass
class PeriodTotals:
    """Every contact that started in [start, end] (the city's local dates, end included)."""

    start: date
    end: date
    contacts: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)  # Kind value (or NOT_WRAPPED) → count
    by_channel: dict[str, int] = field(default_factory=dict)  # Channel value → count
    # How many wrapped-up contacts took each handle time (seconds → count): exact figures
    # from a few hundred rows rather than one row a contact.
    handle_counts: dict[int, int] = field(default_factory=dict)

    @property
    def handled(self) -> int:
        return sum(self.handle_counts.values())

    def _at(self, rank: int) -> int:
        """The handle time at 1-based `rank` in ascending order."""
        seen = 0
        for seconds in sorted(self.handle_counts):
            seen += self.handle_counts[seconds]
            if seen >= rank:
                return seconds
        raise IndexError(rank)

    @property
    def median_handle(self) -> float | None:
        """As statistics.median: the middle time, or the mean of the two middle ones."""
        n = self.handled
        if not n:
            return None
        if n % 2:
            return self._at(n // 2 + 1)
        return (self._at(n // 2) + self._at(n // 2 + 1)) / 2

    @property
    def p90_handle(self) -> int | None:
        """Nearest rank, as nearest_rank: a time some contact had."""
        n = self.handled
        return self._at(max(1, math.ceil(90 / 100 * n))) if n else None


class PeriodProblem(ValueError):
    """A grain or range the totals cannot give; the message says what to ask instead."""


def period_start(day: date, grain: str) -> date:
    """The Monday of `day`'s week, or the first of its month."""
    return day - timedelta(days=day.weekday()) if grain == "week" else day.replace(day=1)


def _next_start(start: date, grain: str) -> date:
    if grain == "week":
        return start + timedelta(days=7)
    return (start + timedelta(days=32)).replace(day=1)


def periods(grain: str, first: date, last: date) -> list[tuple[date, date]]:
    """The weeks (Monday to Sunday) or months holding `first` to `last`, oldest first."""
    if grain not in GRAINS:
        raise PeriodProblem(
            _("Give by= as week or month, not %(grain)s.") % {"grain": repr(grain[:20])}
        )
    if last < first:
        raise PeriodProblem(_("The first day comes after the last: swap them."))
    out = []
    start = period_start(first, grain)
    while start <= last:
        after = _next_start(start, grain)
        out.append((start, after - timedelta(days=1)))
        if len(out) > MAX_PERIODS[grain]:
            too_many = (
                _("At most %(count)s weeks at once: choose a shorter range.")
                if grain == "week"
                else _("At most %(count)s months at once: choose a shorter range.")
            )
            raise PeriodProblem(too_many % {"count": MAX_PERIODS[grain]})
        start = after
    return out


def totals(grain: str, first: date, last: date) -> list[PeriodTotals]:
    """Contacts by week or month from `first` to `last` (whole periods): counts by kind and
    by channel, handle time median and 90th percentile (nearest rank), exact, read from the
    contact log itself. PeriodProblem for a grain or range it cannot give."""
    spans = periods(grain, first, last)
    out = [PeriodTotals(start, end) for start, end in spans]
    since = day_bounds(spans[0][0])[0]
    until = day_bounds(spans[-1][1])[1]
    tz = profile.zone()
    starts = [p.start for p in out]
    # Counted by the database, by the city's local date: one row a day, kind and channel,
    # and one a day and handle time, however many contacts (interaction_started_at).
    rows = Interaction.objects.filter(started_at__gte=since, started_at__lt=until).annotate(
        day=TruncDate("started_at", tzinfo=tz)
    )
    for row in rows.values("day", "kind", "channel").annotate(n=Count("id")).order_by():
        p = out[_index(starts, row["day"])]
        p.contacts += row["n"]
        p.by_kind[row["kind"]] = p.by_kind.get(row["kind"], 0) + row["n"]
        p.by_channel[row["channel"]] = p.by_channel.get(row["channel"], 0) + row["n"]
    handled = rows.exclude(kind="").filter(handle_seconds__isnull=False)
    for row in handled.values("day", "handle_seconds").annotate(n=Count("id")).order_by():
        counts = out[_index(starts, row["day"])].handle_counts
        counts[row["handle_seconds"]] = counts.get(row["handle_seconds"], 0) + row["n"]
    return out


def _index(starts: list[date], day: date) -> int:
    """The period holding `day`: the last that starts on or before it."""
    return bisect_right(starts, day) - 1


def totals_columns() -> list[str]:
    kinds = [k.value for k in Kind] + ["not_wrapped"]
    channels = [str(c.value) for c in CONTACT_CHANNELS]
    return [
        "period_start",
        "period_end",
        "contacts",
        *(f"kind_{k}" for k in kinds),
        *(f"channel_{c}" for c in channels),
        "handled",
        "handle_median_s",
        "handle_p90_s",
    ]


def totals_csv(found: list[PeriodTotals]) -> str:
    """One row a period, columns `totals_columns()`: a data file, no names of anyone."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(totals_columns())
    for p in found:
        writer.writerow(
            [
                p.start.isoformat(),
                p.end.isoformat(),
                p.contacts,
                *(p.by_kind.get(k.value, 0) for k in Kind),
                p.by_kind.get(NOT_WRAPPED, 0),
                *(p.by_channel.get(str(c.value), 0) for c in CONTACT_CHANNELS),
                p.handled,
                "" if p.median_handle is None else f"{p.median_handle:g}",
                "" if p.p90_handle is None else p.p90_handle,
            ]
        )
    return out.getvalue()
