"""The SLA as a contract: when a request falls due, why, and who is told as time runs out.

The clock starts when a request is filed, and again from zero when it is reopened (a reopening
is a new promise to the resident; its levels escalate anew). It runs in the city's working
time for a type counted in business hours, and in elapsed time for one counted in calendar
days. It stops while the city waits on the resident or on another agency: resuming moves the
due date by the clock time paused, unless the pause began at or after the due date (a promise
already broken is not mended by waiting), which then stays where it was.

Escalation levels are points in that time (percent of the target): before 100 they count from
the clock's start, pauses included; at and after 100 from the due date. See docs/sla.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q
from django.utils import dateformat, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from city311.accounts import roles
from city311.catalog.calendar import Calendar
from city311.catalog.models import Department, SlaUnit
from city311.servicerequests.models import (
    Escalation,
    EscalationLevel,
    RequestEvent,
    ServiceRequest,
)
from city311.servicerequests.vocabulary import Escalate, Event, Pause

# With no levels configured anywhere: warn the assignee at 75% of the time, tell the
# supervisor at the breach, the manager at three times the target.
DEFAULT_LEVELS: list[tuple[int, str]] = [
    (75, Escalate.ASSIGNEE),
    (100, Escalate.SUPERVISOR),
    (300, Escalate.MANAGER),
]


def levels_for(service_type_id: int) -> list[tuple[int, str]]:
    """The (percent, who) levels of a type: its own, else the city's default rows, else
    DEFAULT_LEVELS; lowest percent first."""
    rows = list(
        EscalationLevel.objects.filter(service_type_id=service_type_id).values_list(
            "percent", "notify"
        )
    ) or list(
        EscalationLevel.objects.filter(service_type__isnull=True).values_list("percent", "notify")
    )
    return sorted(rows) if rows else list(DEFAULT_LEVELS)


class Sweep:
    """What one run of the escalation sweep reads once: the calendar, each type's levels."""

    def __init__(self) -> None:
        self.calendar = Calendar()
        self._levels: dict[int, list[tuple[int, str]]] = {}

        self._people: dict[tuple[int | None, int | None, int | None, str], list[User]] = {}
        self._administrators: list[User] | None = None

    def levels(self, service_type_id: int) -> list[tuple[int, str]]:
        if service_type_id not in self._levels:
            self._levels[service_type_id] = levels_for(service_type_id)
        return self._levels[service_type_id]

    def recipients(self, sr: ServiceRequest, notify: str) -> list[User]:
        key = (sr.department_id, sr.team_id, sr.assignee_id, notify)
        if key not in self._people:
            self._people[key] = escalation_recipients(sr, notify)
        return self._people[key]

    def administrators(self) -> list[User]:
        if self._administrators is None:
            self._administrators = administrators()
        return self._administrators


def target_time(sr: ServiceRequest, cal: Calendar) -> timedelta | None:
    """The length of the clock's target: working time, or the elapsed time of the calendar
    days from the clock's start (a day across a DST change is 23 or 25 hours)."""
    amount, unit = sr.service_type.sla_amount, sr.service_type.sla_unit
    if amount is None:
        return None
    if unit == SlaUnit.BUSINESS_HOURS:
        return timedelta(hours=amount)
    due = cal.due_at(sr.clock_start, amount, unit)
    assert due is not None
    return due - sr.clock_start


def _after(sr: ServiceRequest, cal: Calendar, start: datetime, time: timedelta) -> datetime:
    if sr.service_type.sla_unit == SlaUnit.BUSINESS_HOURS:
        return cal.add_business_time(start, time)
    return start + time


def paused_clock_time(sr: ServiceRequest, until: datetime, cal: Calendar) -> timedelta:
    """The clock time the current pause held back until `until`: what resuming then moves
    the due date by. None of it when the pause began at or after the due date."""
    if sr.paused_at is None or sr.due_at is None or sr.paused_at >= sr.due_at:
        return timedelta(0)
    if sr.service_type.sla_unit == SlaUnit.BUSINESS_HOURS:
        return cal.business_time_between(sr.paused_at, until)
    return max(until - sr.paused_at, timedelta(0))


def moved_due(sr: ServiceRequest, paused: timedelta, cal: Calendar) -> datetime | None:
    """The due date once `paused` clock time is added to it."""
    if sr.due_at is None or not paused:
        return sr.due_at
    return _after(sr, cal, sr.due_at, paused)


def level_moment(sr: ServiceRequest, percent: int, cal: Calendar) -> datetime | None:
    """When the clock reaches `percent` of the target."""
    target = target_time(sr, cal)
    if target is None or sr.due_at is None:
        return None
    if percent >= 100:
        beyond = target * (percent - 100) / 100
        return _after(sr, cal, sr.due_at, beyond) if beyond else sr.due_at
    held = timedelta(seconds=sr.paused_seconds)
    return _after(sr, cal, sr.clock_start, target * percent / 100 + held)


def escalation_recipients(sr: ServiceRequest, notify: str) -> list[User]:
    """Who a level tells, by role: the assignee (75%), the supervisor (the breach), the
    manager (3x).

    - assignee: the request's assignee; with nobody assigned, as for the supervisor (the
      warning goes to whoever assigns);
    - supervisor: the people with the Supervisor role in the request's team, else those of
      its department;
    - manager: the people with the Manager role in the request's department, else the
      managers of no department (city-wide).

    With nobody found, the notifications fall back to the department's shared mailbox.
    """
    active = User.objects.filter(is_active=True).exclude(email="").order_by("pk")
    if notify == Escalate.ASSIGNEE and sr.assignee_id is not None:
        return list(active.filter(pk=sr.assignee_id))
    if notify in (Escalate.ASSIGNEE, Escalate.SUPERVISOR):
        supervisors = active.filter(
            groups__name=roles.SUPERVISOR, memberships__department=sr.department_id
        ).distinct()
        of_team = list(supervisors.filter(teams=sr.team_id)) if sr.team_id else []
        return of_team or list(supervisors)
    managers = active.filter(groups__name=roles.MANAGER)
    of_department = list(managers.filter(memberships__department=sr.department_id).distinct())
    return of_department or list(managers.filter(memberships__isnull=True))


def reaches_nobody(sr: ServiceRequest, people: list[User]) -> bool:
    """Whether a level that names `people` reaches nobody of the request's department: no
    person with an e-mail address, and no department mailbox to fall back to."""
    return not people and not (sr.department is not None and sr.department.email)


def administrators() -> list[User]:
    """The city's administrators who can be e-mailed: told of an escalation that reaches
    nobody of its department, so no promise expires unnoticed."""
    return list(
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(Q(groups__name=roles.ADMINISTRATOR) | Q(is_superuser=True))
        .distinct()
        .order_by("pk")
    )


def unreachable_departments(department_ids: list[int] | None = None) -> list[Department]:
    """Active departments (of `department_ids`, or all) whose breaches would reach nobody of
    theirs: no supervisor with an e-mail address and no department mailbox. The board warns
    of them before a promise expires."""
    supervisors = User.objects.filter(
        is_active=True, groups__name=roles.SUPERVISOR, memberships__department=OuterRef("pk")
    ).exclude(email="")
    departments = Department.objects.filter(active=True, email="").exclude(Exists(supervisors))
    if department_ids is not None:
        departments = departments.filter(pk__in=department_ids)
    return list(departments.order_by("name"))


@dataclass
class Level:
    """One escalation level of a request's current clock, for the work page."""

    percent: int
    notify: str
    at: datetime | None
    reached: Escalation | None = None

    @property
    def notify_label(self) -> str:
        return str(Escalate(self.notify).label)


def timeline(sr: ServiceRequest) -> list[Level]:
    """Every level of the current clock: when it is (or was) reached, and whether it was."""
    if sr.due_at is None or sr.service_type.sla_amount is None:
        return []
    cal = Calendar()
    reached = {e.percent: e for e in sr.escalations.filter(clock_started_at=sr.clock_start)}
    return [
        Level(percent, notify, level_moment(sr, percent, cal), reached.get(percent))
        for percent, notify in levels_for(sr.service_type_id)
    ]


# The due date in words


def _when(moment: datetime, cal: Calendar, *, year: bool = False) -> str:
    local = timezone.localtime(moment, cal.tz)
    return dateformat.format(local, "D j M Y, H:i" if year else "D j M, H:i")


def _duration(time: timedelta) -> str:
    minutes = round(time.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    if hours:
        return ngettext("%(h)s hour", "%(h)s hours", hours) % {"h": hours}
    return _("%(m)s min") % {"m": minutes}


@dataclass
class DueExplanation:
    """Why a request is due when it is: the first line and the reasons after it."""

    headline: str
    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.headline}: {'; '.join(self.reasons)}" if self.reasons else self.headline


def explain_due(sr: ServiceRequest) -> DueExplanation:
    """The due date in words, in the active language: "due Fri 4 Dec 2026, 17:00: 24 business
    hours from Tue 1 Dec, 10:12; Thu 26 Nov, Thanksgiving Day, skipped; ..."."""
    amount, unit = sr.service_type.sla_amount, sr.service_type.sla_unit
    if amount is None or sr.due_at is None:
        return DueExplanation(_("no due date: this type has no target time"))
    cal = Calendar()
    headline = _("due %(when)s") % {"when": _when(sr.due_at, cal, year=True)}
    start = sr.clock_start
    counted = (
        ngettext("%(n)s business hour", "%(n)s business hours", amount)
        if unit == SlaUnit.BUSINESS_HOURS
        else ngettext("%(n)s calendar day", "%(n)s calendar days", amount)
    ) % {"n": amount}
    since = _("from the reopening on %(when)s") if sr.clock_started_at else _("from %(when)s")
    reasons = [f"{counted} {since % {'when': _when(start, cal)}}"]
    if unit == SlaUnit.BUSINESS_HOURS:
        reasons += _business_reasons(cal, start, sr.due_at)
    reasons += _pause_reasons(sr, cal)
    return DueExplanation(headline, reasons)


def _business_reasons(cal: Calendar, start: datetime, due: datetime) -> list[str]:
    if not cal.hours:
        return []
    reasons = [
        _("%(day)s, %(name)s, skipped")
        % {"day": dateformat.format(day, "D j M"), "name": cal.holiday_name(day) or _("closed")}
        for day in cal.days_off(start, due)
    ]
    first, last = start.astimezone(cal.tz).date(), due.astimezone(cal.tz).date()
    days = (last - first).days + 1
    closed = {(first + timedelta(days=n)).weekday() for n in range(min(days, 7))} - set(cal.hours)
    if closed:
        reasons.append(_("counted in working hours only, closed days (weekends) skipped"))
    else:
        reasons.append(_("counted in working hours only"))
    return reasons


def _pause_reasons(sr: ServiceRequest, cal: Calendar) -> list[str]:
    reasons = []
    resumed = RequestEvent.objects.filter(
        request=sr, kind=Event.RESUMED, at__gte=sr.clock_start
    ).order_by("at", "id")
    for event in resumed:
        held = timedelta(seconds=event.data.get("paused_seconds", 0))
        why = _pause_words(event.data.get("reason", ""))
        if held:
            reasons.append(
                _("paused %(time)s (%(why)s), so the due date moved")
                % {"time": _duration(held), "why": why}
            )
        else:
            reasons.append(
                _("paused (%(why)s) after the due date, which did not move") % {"why": why}
            )
    if sr.paused and sr.paused_at is not None:
        reasons.append(
            _("clock paused since %(when)s (%(why)s): the due date moves when work resumes")
            % {"when": _when(sr.paused_at, cal), "why": _pause_words(sr.paused)}
        )
    return reasons


def _pause_words(reason: str) -> str:
    try:
        return str(Pause(reason).label).lower()
    except ValueError:
        return reason
