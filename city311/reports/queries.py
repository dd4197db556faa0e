"""Reads for the report pages: the day totals of one cut over a period, shaped for the metrics
(reports.metrics) and for the tables and charts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.db.models import Count, DateField, Model, Q, QuerySet, Sum
from django.db.models.functions import Trunc
from django.utils.translation import gettext, gettext_lazy, pgettext

from city311.catalog import cache as catalog_cache
from city311.catalog.models import Department, ServiceType
from city311.reports import metrics
from city311.reports.forms import period_days, previous
from city311.reports.models import (
    COUNTERS,
    EVERY_CHANNEL,
    EVERY_DEPARTMENT,
    EVERY_TYPE,
    DaySummary,
    DayTotal,
    MonthSummary,
    MonthTotal,
    RequestFact,
    Totals,
)
from city311.servicerequests.errors import RequestError
from city311.servicerequests.models import Team

M = TypeVar("M", bound=Model)


class NotFound(RequestError, ValueError):
    """A filter names something that does not exist (a type, group, team or department)."""


@dataclass
class Cut:
    """One filter of the reports: what the day totals are narrowed to, and the same filter
    as work-queue parameters, for the click-through."""

    type_ids: list[int] | None = None
    department_ids: set[int] | None = None
    team_id: int | None = None
    channel: str = ""
    urgent: bool | None = None
    area_kind: str = ""
    area_code: str = ""
    queue: dict[str, str] = field(default_factory=dict)

    def narrow(self, found: QuerySet[M], *, type_field: str = "type_id") -> QuerySet[M]:
        """`found` (day or month totals, request facts, requests) narrowed to this cut's type,
        department, team, channel and urgency; `type_field` names the type's column. The
        area is left to the caller: each table keeps it its own way."""
        if self.type_ids is not None:
            found = found.filter(**{f"{type_field}__in": self.type_ids})
        if self.department_ids is not None:
            found = found.filter(department_id__in=self.department_ids)
        if self.team_id is not None:
            found = found.filter(team_id=self.team_id)
        if self.channel:
            found = found.filter(channel=self.channel)
        if self.urgent is not None:
            found = found.filter(urgent=self.urgent)
        return found

    def rows(self, *, area: bool = True, model: type[Totals] = DayTotal) -> QuerySet[Any]:
        """The day (or month) totals of this cut; with area=False, those of every area kind
        (the caller names the kind)."""
        rows = self.narrow(model._default_manager.all())
        if area:
            rows = rows.filter(area_kind=self.area_kind, area_code=self.area_code)
        return rows

    def facts(self) -> QuerySet[RequestFact]:
        """The request facts of this cut (for survey answers and closing notes)."""
        facts = self.narrow(RequestFact.objects.all())
        if self.area_kind:
            facts = facts.filter(**{f"areas__{self.area_kind}": self.area_code})
        return facts

    def link(self, **extra: str | date) -> str:
        """The work queue with this cut's filters and `extra` ones."""
        params = {**self.queue, **{k: str(v) for k, v in extra.items()}}
        return "/work/?" + urlencode(params)


def cut_for(user_departments: set[int] | None, data: dict[str, Any]) -> Cut:
    """The cut a valid ReportForm's data names, within the departments the user may read."""
    cut = Cut(department_ids=user_departments)
    catalog = catalog_cache.catalog()
    if data.get("type"):
        found = catalog.by_code.get(data["type"])
        if found is None:
            raise NotFound(
                gettext_lazy("There is no service type “%(service_code)s”: check the code."),
                code="unknown_type",
                service_code=data["type"],
            )
        cut.type_ids = [found.pk]
        cut.queue["type"] = found.service_code
    if data.get("group"):
        in_group = [t.pk for t in catalog.by_pk.values() if t.group == data["group"]]
        if not in_group:
            raise NotFound(
                gettext_lazy("There is no group “%(group)s”: check its name."),
                code="unknown_group",
                group=data["group"],
            )
        cut.type_ids = (
            in_group if cut.type_ids is None else sorted(set(cut.type_ids) & set(in_group))
        )
        cut.queue["group"] = data["group"]
    if data.get("department"):
        department = Department.objects.filter(slug=data["department"]).first()
        if department is None:
            raise NotFound(
                gettext_lazy(
                    "There is no department “%(department)s”: check the name in the link."
                ),
                code="unknown_department",
                department=data["department"],
            )
        allowed = user_departments is None or department.pk in user_departments
        cut.department_ids = {department.pk} if allowed else set()
        cut.queue["department"] = department.slug
    if data.get("team"):
        team = Team.objects.filter(slug=data["team"]).first()
        if team is None:
            raise NotFound(
                gettext_lazy("There is no team “%(team)s”: check the name in the link."),
                code="unknown_team",
                team=data["team"],
            )
        cut.team_id = team.pk
        cut.queue["team"] = team.slug
    if data.get("channel"):
        cut.channel = cut.queue["channel"] = data["channel"]
    if data.get("urgency"):
        cut.urgent = data["urgency"] == "urgent"
        if cut.urgent:
            cut.queue["urgent"] = "1"
    if data.get("area"):
        cut.area_kind, _, cut.area_code = data["area"].partition(":")
        cut.queue["area"] = data["area"]
    return cut


def parts(start: date, end: date) -> list[tuple[type[Totals], date, date]]:
    """A period as the tables to read: its whole months from the month totals, the days
    before and after them from the day totals."""
    first_month = start if start.day == 1 else _next_month(start)
    after_last = (
        _next_month(end) if _next_month(end) - timedelta(days=1) == end else end.replace(day=1)
    )
    if first_month >= after_last:
        return [(DayTotal, start, end)]
    found: list[tuple[type[Totals], date, date]] = []
    if start < first_month:
        found.append((DayTotal, start, first_month - timedelta(days=1)))
    found.append((MonthTotal, first_month, after_last - timedelta(days=1)))
    if after_last <= end:
        found.append((DayTotal, after_last, end))
    return found


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def summed(
    cut: Cut, start: date, end: date, by: list[str], counters: list[str], *, kind: str | None = None
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The counters summed over the period, grouped by the `by` columns, from the month
    totals where whole months allow and the day totals elsewhere. `kind`: every area of that
    kind instead of the cut's area."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    summary = summary_for(cut, by, kind)
    for model, first, last in parts(start, end):
        if model is MonthTotal and summary is not None:
            rows = cut.rows(model=MonthSummary, area=kind is None).filter(summary)
        elif model is DayTotal and _by_area_only(cut, by):
            rows = cut.rows(model=DaySummary, area=kind is None)
        else:
            rows = cut.rows(model=model, area=kind is None)
        if kind is not None:
            rows = rows.filter(area_kind=kind)
        rows = rows.filter(day__gte=first, day__lte=last)
        sums = {c: Sum(c) for c in counters}
        found = rows.values(*by).annotate(**sums) if by else [rows.aggregate(**sums)]
        for row in found:
            key = tuple(row[b] for b in by)
            into = out.setdefault(key, {**{b: row[b] for b in by}, **{c: 0 for c in counters}})
            for c in counters:
                into[c] += row[c] or 0
    return out


def _by_area_only(cut: Cut, by: list[str]) -> bool:
    """Whether the day summaries (models.DaySummary: every type, department, team, channel
    and urgency of one area, a row a day) hold this cut's days grouped `by`: a cut by area
    alone (or none), grouped by day or area at most."""
    plain = cut.type_ids is None and cut.department_ids is None and cut.team_id is None
    return plain and not cut.channel and cut.urgent is None and set(by) <= {"day", "area_code"}


def day_rows(cut: Cut) -> QuerySet[Any]:
    """The cut's area's rows by day: its day summaries where they hold its counts, else its
    day totals."""
    return cut.rows(model=DaySummary) if _by_area_only(cut, []) else cut.rows()


def summary_for(cut: Cut, by: list[str], kind: str | None) -> Q | None:
    """Which month summaries (models.MonthSummary) hold this cut's months grouped `by`, as
    the rows to take; None when only the month totals do (a team or urgency filter, or a
    type with a channel or an area)."""
    if cut.team_id is not None or cut.urgent is not None:
        return None
    dims = set(by) - {"day"}
    if cut.type_ids is not None:
        dims.add("type_id")
    if cut.channel:
        dims.add("channel")
    # The area rows: every department's, or each department's for a cut of departments.
    every = Q(type_id=EVERY_TYPE, channel=EVERY_CHANNEL)
    if cut.department_ids is None:
        every &= Q(department_id=EVERY_DEPARTMENT)
    else:
        every &= ~Q(department_id=EVERY_DEPARTMENT)
    if kind is not None or cut.area_kind or "area_code" in dims:
        return every if dims <= {"area_code"} else None
    if not dims:
        return every
    if dims == {"type_id"}:
        return Q(channel=EVERY_CHANNEL) & ~Q(type_id=EVERY_TYPE)
    if dims == {"channel"}:
        return Q(type_id=EVERY_TYPE) & ~Q(channel=EVERY_CHANNEL)
    return None


def _sums(cut: Cut, start: date, end: date) -> dict[str, float]:
    return summed(cut, start, end, [], list(COUNTERS))[()]


OpenWork = tuple[dict[date, int], dict[date, int]]


def open_work(rows: QuerySet[Any]) -> OpenWork:
    """The requests open now by the day received (the backlog), and those open (not held) by
    the day due, of these day totals or summaries (`day_rows`): one read of the rows with open
    work (for day totals, the partial covering index `daytotal_open` holds exactly these), for
    every period at once."""
    found = (
        rows.filter(Q(open_now__gt=0) | Q(open_due__gt=0))
        .values("day")
        .annotate(received=Sum("open_now"), due=Sum("open_due"))
        .values_list("day", "received", "due")
    )
    backlog: dict[date, int] = {}
    due: dict[date, int] = {}
    for day, received, due_then in found:
        if received:
            backlog[day] = received
        if due_then:
            due[day] = due_then
    return backlog, due


def _past_due(due: dict[date, int], start: date, end: date, today: date) -> int:
    last = min(end, today - timedelta(days=1))
    return sum(n for day, n in due.items() if start <= day <= last)


def _satisfaction(cut: Cut, start: date, end: date) -> tuple[float, int]:
    # Survey answers live with the notifications that asked; read, never written, here.
    from city311.notifications.models import SurveyResponse

    facts = cut.facts().filter(closed_day__gte=start, closed_day__lte=end)
    answers = SurveyResponse.objects.filter(
        satisfaction__isnull=False, request_id__in=facts.values("request_id")
    )
    found = answers.aggregate(total=Sum("satisfaction"), n=Count("pk"))
    return float(found["total"] or 0), int(found["n"] or 0)


def _information_contacts(cut: Cut, start: date, end: date) -> int | None:
    """The contacts the call centre answered with information only in the period; None when
    the city keeps no contact log or the cut names what a contact does not have."""
    # The call centre's contact log lives with the contacts app; read, never written, here.
    from city311.contacts.models import Interaction, Kind

    if cut.area_kind or cut.team_id is not None or cut.urgent is not None:
        return None
    if not Interaction.objects.exists():
        return None
    first, last = _moments(start, end)
    found = Interaction.objects.filter(
        kind=Kind.INFORMATION, started_at__gte=first, started_at__lt=last
    )
    if cut.type_ids is not None:
        found = found.filter(service_type_id__in=cut.type_ids)
    if cut.department_ids is not None:
        found = found.filter(service_type__department_id__in=cut.department_ids)
    if cut.channel:
        found = found.filter(channel=cut.channel)
    return found.count()


def facts_for(
    cut: Cut, start: date, end: date, today: date, work: OpenWork | None = None
) -> metrics.Facts:
    """What the metrics need for this cut and period (`work`: the open work by day, when
    already read: it is the same for every period)."""
    backlog, due = work if work is not None else open_work(day_rows(cut))
    total, n = _satisfaction(cut, start, end)
    return metrics.Facts(
        sums=_sums(cut, start, end),
        open_by_day={day: k for day, k in backlog.items() if start <= day <= end},
        backlog_by_day=backlog,
        open_past_due=_past_due(due, start, end, today),
        satisfaction_sum=total,
        satisfaction_n=n,
        information_contacts=_information_contacts(cut, start, end),
        today=today,
    )


@dataclass
class Tile:
    metric: metrics.Metric
    value: metrics.Value
    before: metrics.Value
    link: str
    # actual ÷ target (CityScore), when the metric has a target and a number.
    score: float | None = None

    @property
    def trend(self) -> str:
        if self.value.number is None or self.before.number is None:
            return ""
        if self.value.number == self.before.number:
            return "same"
        if self.metric.higher_is_better is None:
            return ""
        better = (self.value.number > self.before.number) == self.metric.higher_is_better
        return "better" if better else "worse"

    @property
    def trend_label(self) -> str:
        labels = {
            "same": pgettext("trend", "same"),
            "better": pgettext("trend", "better"),
            "worse": pgettext("trend", "worse"),
        }
        return labels.get(self.trend, "")


def tiles(cut: Cut, start: date, end: date, today: date) -> tuple[list[Tile], metrics.Facts]:
    work = open_work(day_rows(cut))
    now_facts = facts_for(cut, start, end, today, work)
    before_start, before_end = previous(start, end)
    before_facts = facts_for(cut, before_start, before_end, today, work)
    values = metrics.measure(now_facts, metrics.TILES)
    befores = metrics.measure(before_facts, metrics.TILES)
    links = _links(cut, start, end)
    shown = []
    for key in metrics.TILES:
        metric = metrics.BY_KEY[key]
        tile = Tile(metric, values[key], befores[key], links[key])
        number, target = values[key].number, metric.target
        if target and number is not None:
            tile.score = number / target
        shown.append(tile)
    return shown, now_facts


def _links(cut: Cut, start: date, end: date) -> dict[str, str]:
    received = cut.link(status="any", since=start, until=end)
    closed = cut.link(status="closed", closed_since=start, closed_until=end)
    return {
        "received": received,
        "closed": closed,
        "open": cut.link(),
        "past_due": cut.link(overdue="1"),
        "on_time": closed,
        "close_median": received,
        "close_p90": received,
        "first_response": received,
        "reopen_rate": closed,
        "satisfaction": closed,
        # Contacts filed no request: no list of requests stands behind the number.
        "information": "",
    }


TRUNC = {"day": "day", "week": "week", "month": "month", "quarter": "quarter"}


def series(cut: Cut, start: date, end: date, grain: str) -> list[dict[str, Any]]:
    """Received, closed and on-time by day, week, month or quarter."""
    counters = ["received", "closed", "closed_target", "closed_on_time"]
    if grain in ("day", "week"):
        rows = (
            day_rows(cut)
            .filter(day__gte=start, day__lte=end)
            .annotate(bucket=Trunc("day", TRUNC[grain], output_field=DateField()))
            .values("bucket")
            .annotate(**{c: Sum(c) for c in counters})
        )
        found = {row["bucket"]: row for row in rows}
    else:
        found = {}
        for (day,), row in summed(cut, start, end, ["day"], counters).items():
            key = date(
                day.year,
                1
                if grain == "year"
                else (day.month if grain == "month" else 3 * ((day.month - 1) // 3) + 1),
                1,
            )
            into = found.setdefault(key, {"bucket": key, **{c: 0 for c in counters}})
            for c in counters:
                into[c] += row[c]
    out = []
    for bucket in sorted(found):
        row = found[bucket]
        if not (row["received"] or row["closed"]):
            continue
        first = max(row["bucket"], start)
        last = min(_bucket_end(row["bucket"], grain), end)
        row["on_time"] = metrics.ratio(row["closed_on_time"], row["closed_target"])
        row["link"] = cut.link(status="any", since=first, until=last)
        out.append(row)
    return out


def _bucket_end(first: date, grain: str) -> date:
    if grain == "day":
        return first
    if grain == "week":
        return first + timedelta(days=6)
    months = 1 if grain == "month" else 3
    month = first.month - 1 + months
    return date(first.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def by_channel(cut: Cut, start: date, end: date) -> list[dict[str, Any]]:
    """Requests received by channel, with each one's share."""
    from city311.servicerequests.vocabulary import Channel

    found = summed(cut, start, end, ["channel"], ["received"]).values()
    rows = sorted(
        ({"channel": r["channel"], "n": r["received"]} for r in found if r["received"]),
        key=lambda r: -r["n"],
    )
    total = sum(r["n"] for r in rows)
    labels = dict(Channel.choices)
    return [
        {
            "channel": r["channel"],
            "label": labels.get(r["channel"], r["channel"]),
            "n": r["n"],
            "share": metrics.ratio(r["n"], total),
            "link": cut.link(status="any", since=start, until=end, channel=r["channel"]),
        }
        for r in rows
    ]


def _grouped(
    cut: Cut, name: str, start: date, end: date, today: date, kind: str | None = None
) -> dict[Any, dict[str, Any]]:
    counters = ["received", "closed", "closed_target", "closed_on_time"]
    # Open past due: still open, due in the period before today. Summed as the other counts
    # are (whole months from the month rows), not from every day total with open work due in
    # the period: ten years of those were 32,000 index entries, the map's slowest read. A
    # period that ended before today has the same rows for both: they are read once.
    last = min(end, today - timedelta(days=1))
    over = last == end
    sums = summed(cut, start, end, [name], [*counters, "open_due"] if over else counters, kind=kind)
    found = {key[0]: {**row, "past_due": 0} for key, row in sums.items()}
    for row in found.values():
        row.pop("open_due", None)
    if over:
        due = sums
    else:
        due = summed(cut, start, last, [name], ["open_due"], kind=kind) if start <= last else {}
    for (key,), row in due.items():
        if row["open_due"]:
            found.setdefault(key, {name: key, "past_due": 0, **{c: 0 for c in counters}})
            found[key]["past_due"] = row["open_due"]
    for row in found.values():
        row["on_time"] = metrics.ratio(
            row["closed_on_time"], row["closed_target"] + row["past_due"]
        )
    return found


def by_type(cut: Cut, start: date, end: date, today: date) -> list[dict[str, Any]]:
    """Each type's received, closed, open past due and on-time %, most received first."""
    found = _grouped(cut, "type_id", start, end, today)
    names = dict(ServiceType.objects.filter(pk__in=list(found)).values_list("pk", "service_name"))
    codes = dict(ServiceType.objects.filter(pk__in=list(found)).values_list("pk", "service_code"))
    rows = []
    for pk, row in found.items():
        code = codes.get(pk, "")
        rows.append(
            {
                **row,
                "name": names.get(pk) or gettext("Type %(id)s") % {"id": pk},
                "link": cut.link(status="any", since=start, until=end, type=code),
                "closed_link": cut.link(
                    status="closed", closed_since=start, closed_until=end, type=code
                ),
                "past_due_link": cut.link(overdue="1", type=code),
            }
        )
    return sorted(rows, key=lambda r: (-r["received"], r["name"]))


def by_area(cut: Cut, kind: str, start: date, end: date, today: date) -> list[dict[str, Any]]:
    """Each area of `kind`: received, on-time % (suppressed on small numbers), per the map."""
    from city311.geo.models import Boundary

    found = _grouped(cut, "area_code", start, end, today, kind=kind)
    out = []
    queue = {k: v for k, v in cut.queue.items() if k != "area"}
    plain = Cut(**{**cut.__dict__, "queue": queue})
    for boundary in Boundary.objects.filter(kind=kind).only("code", "name"):
        row = found.get(
            boundary.code,
            {"received": 0, "closed": 0, "closed_target": 0, "closed_on_time": 0, "past_due": 0},
        )
        row.setdefault("on_time", metrics.ratio(0, 0))
        area = f"{kind}:{boundary.code}"
        out.append(
            {
                **row,
                "code": boundary.code,
                "name": boundary.name,
                "selected": cut.area_kind == kind and cut.area_code == boundary.code,
                "link": plain.link(status="any", since=start, until=end, area=area),
                "past_due_link": plain.link(overdue="1", area=area),
            }
        )
    return out


def departments_named(ids: Iterable[int] | None) -> list[Department]:
    rows = Department.objects.filter(active=True).order_by("name")
    return list(rows if ids is None else rows.filter(pk__in=list(ids)))


def period_for(data: dict[str, Any], today: date) -> tuple[date, date]:
    return period_days(data, today)


# Actions taken: what closing a request said


def resolutions_by_type(cut: Cut, start: date, end: date) -> list[dict[str, Any]]:
    """For each type, how its requests closed in the period ended, by resolution."""
    from city311.servicerequests.vocabulary import Resolution

    facts = cut.facts().filter(closed_day__gte=start, closed_day__lte=end)
    found = facts.values("type_id", "resolution").annotate(n=Count("pk"))
    names = dict(ServiceType.objects.values_list("pk", "service_name"))
    codes = dict(ServiceType.objects.values_list("pk", "service_code"))
    rows: dict[int, dict[str, Any]] = {}
    for row in found:
        entry = rows.setdefault(
            row["type_id"],
            {"name": names.get(row["type_id"], ""), "counts": {}, "total": 0},
        )
        entry["counts"][row["resolution"] or ""] = row["n"]
        entry["total"] += row["n"]
    labels = [(r.value, r.label) for r in Resolution]
    out = []
    for type_id, entry in rows.items():
        code = codes.get(type_id, "")
        entry["cells"] = [
            (
                entry["counts"].get(value, 0),
                cut.link(status="closed", closed_since=start, closed_until=end, type=code),
            )
            for value, _ in labels
        ]
        out.append(entry)
    return sorted(out, key=lambda e: (-e["total"], e["name"]))


SHORT_NOTE_WORDS = 4


def closing_notes(
    cut: Cut, start: date, end: date, words: str = "", limit: int = 50
) -> tuple[list[Any], int, int]:
    """The closing notes of the period's closings (newest first, at most `limit`) containing
    every one of `words`; with the number of closings and of those whose note says almost
    nothing (fewer than SHORT_NOTE_WORDS words: "vague or inadequate" resolutions)."""
    from city311.servicerequests.models import RequestEvent

    facts = cut.facts().filter(closed_day__gte=start, closed_day__lte=end)
    closings = RequestEvent.objects.filter(
        kind="request.closed", request_id__in=facts.values("request_id")
    )
    first, last = _moments(start, end)
    closings = closings.filter(at__gte=first, at__lt=last)
    total = closings.count()
    short = sum(1 for note in closings.values_list("note", flat=True)
                if len(note.split()) < SHORT_NOTE_WORDS)  # fmt: skip
    for word in words.split()[:8]:
        closings = closings.filter(note__icontains=word)
    found = closings.select_related("request__service_type").order_by("-at", "-pk")[:limit]
    return list(found), total, short


def _moments(start: date, end: date) -> tuple[Any, Any]:
    from datetime import datetime, time

    from django.utils import timezone as tz

    return (
        tz.make_aware(datetime.combine(start, time())),
        tz.make_aware(datetime.combine(end + timedelta(days=1), time())),
    )
