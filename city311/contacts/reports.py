"""The call centre's figures for a day: what the supervisor's live view and the reports read.

Percentiles are nearest-rank (the p90 of ten handle times is the ninth smallest), so every
figure is one a contact actually had. Handle times are those end_interaction measured.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median

from django.utils import timezone

from city311.cities import profile
from city311.contacts.models import Interaction, Kind, WrapUp
from city311.servicerequests.vocabulary import Channel

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
