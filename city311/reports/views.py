"""The report pages: thin views over reports.queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from city311.accounts.decorators import staff_required
from city311.catalog.models import ServiceType
from city311.contacts import reports as contact_reports
from city311.contacts.access import can_see_call_centre_reports
from city311.contacts.models import Kind
from city311.geo.models import Boundary, BoundaryKind
from city311.reports import heat, mapsvg, metrics, monthly, points, queries
from city311.reports.access import can_see_reports, report_departments
from city311.reports.forms import GRAINS, KIND_LABELS, ReportForm
from city311.servicerequests.models import Team
from city311.servicerequests.vocabulary import CONTACT_CHANNELS, Resolution

# Lazy: read in the language of the 403 page that shows it (cast: staff_required takes str).
REPORTS_ONLY = cast(str, _("The reports are for supervisors and managers."))


def _bad(request: HttpRequest, form: ReportForm | None, problem: str) -> HttpResponse:
    """A filter the reports cannot read: 400, saying what to fix."""
    context = {"form": form, "problem": problem}
    return render(request, "reports/bad_filter.html", context, status=400)


def _filtered(request: HttpRequest) -> tuple[ReportForm, queries.Cut | HttpResponse]:
    """The form and the cut it names, or the 400 page that says what to fix."""
    form = ReportForm(request.GET)
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[k].label}: {' '.join(str(e) for e in v)}" if k in form.fields
            else " ".join(str(e) for e in v)
            for k, v in form.errors.items()
        )  # fmt: skip
        return form, _bad(request, form, problems)
    try:
        return form, queries.cut_for(report_departments(request.user), form.cleaned_data)
    except queries.NotFound as e:
        return form, _bad(request, form, str(e))


@staff_required(can=can_see_reports, message=REPORTS_ONLY)
def dashboard(request: HttpRequest) -> HttpResponse:
    form, cut = _filtered(request)
    if isinstance(cut, HttpResponse):
        return cut
    data = form.cleaned_data
    departments = report_departments(request.user)
    today = timezone.localdate()
    start, end = queries.period_for(data, today)
    tiles, facts = queries.tiles(cut, start, end, today)
    grain = data.get("by") or ("day" if (end - start).days <= 45 else "month")
    if grain in ("day", "week") and (end - start).days > 190:
        grain = "month"  # a bar a day over years says nothing and reads every day's rows
    grain_label = str(dict(GRAINS)[grain]).lower()
    map_kind = data.get("map") or ""
    if not Boundary.objects.filter(kind=map_kind).exists():
        map_kind = _default_map_kind(cut)
    areas = queries.by_area(cut, map_kind, start, end, today) if map_kind else []
    context: dict[str, Any] = {
        "form": form,
        "start": start,
        "end": end,
        "tiles": tiles,
        "ages": metrics.age_buckets(facts),
        "age_link": cut.link(),
        "series": queries.series(cut, start, end, grain),
        "grain": grain,
        "grain_label": grain_label,
        "chart_title": gettext("Received and closed by %(grain)s") % {"grain": grain_label},
        "channels": queries.by_channel(cut, start, end),
        "types": queries.by_type(cut, start, end, today),
        "map_kind": map_kind,
        "map": _map(map_kind, areas),
        "areas": areas,
        "open_map": points.drawing(cut, map_kind),
        "min_n": metrics.min_n(),
        "choices": _choices(departments),
        "catalogue": metrics.CATALOGUE,
    }
    return render(request, "reports/dashboard.html", context)


def _default_map_kind(cut: queries.Cut) -> str:
    if cut.area_kind:
        return cut.area_kind
    kinds = set(Boundary.objects.exclude(kind="city_limits").values_list("kind", flat=True))
    for kind in ("council_district", "community_district", "borough", "service_zone", "zip"):
        if kind in kinds:
            return kind
    return sorted(kinds)[0] if kinds else ""


def _map(kind: str, areas: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not kind:
        return None
    paths, height = mapsvg.shapes(kind)
    if not paths:
        return None
    drawn = []
    for area in areas:
        path = paths.get(area["code"])
        if path:
            drawn.append({**area, "path": path, "fill": mapsvg.fill(area["on_time"].number)})
    return {"width": mapsvg.WIDTH, "height": height, "areas": drawn, "classes": mapsvg.CLASSES}


def _choices(departments: set[int] | None) -> dict[str, Any]:
    types = ServiceType.objects.filter(active=True).exclude(urgency="emergency")
    teams = Team.objects.filter(active=True)
    if departments is not None:
        types = types.filter(department_id__in=departments)
        teams = teams.filter(department_id__in=departments)
    areas = Boundary.objects.exclude(kind="city_limits").order_by("kind", "name")
    labels = {**dict(BoundaryKind.choices), **KIND_LABELS}
    return {
        "types": types.order_by("service_name").values_list("service_code", "service_name"),
        "groups": sorted({g for g in types.values_list("group", flat=True) if g}),
        "departments": queries.departments_named(departments),
        "teams": teams.order_by("name").values_list("slug", "name"),
        "areas": [
            (f"{kind}:{code}", f"{labels.get(kind, kind)}: {name}")
            for kind, code, name in areas.values_list("kind", "code", "name")
        ],
    }


@staff_required(can=can_see_reports, message=REPORTS_ONLY)
def actions_taken(request: HttpRequest) -> HttpResponse:
    """What was done: closings by resolution per type, and the closing notes, searchable."""
    form, cut = _filtered(request)
    if isinstance(cut, HttpResponse):
        return cut
    start, end = queries.period_for(form.cleaned_data, timezone.localdate())
    words = request.GET.get("q", "")[:200]
    notes, total, short = queries.closing_notes(cut, start, end, words)
    context = {
        "form": form,
        "start": start,
        "end": end,
        "q": words,
        "resolutions": [label for _, label in Resolution.choices],
        "resolution_labels": dict(Resolution.choices),
        "by_type": queries.resolutions_by_type(cut, start, end),
        "notes": notes,
        "total": total,
        "short": short,
        "short_share": metrics.ratio(short, total),
        "short_words": queries.SHORT_NOTE_WORDS,
        "query": request.GET.urlencode(),
    }
    return render(request, "reports/actions.html", context)


@staff_required(can=can_see_reports, message=REPORTS_ONLY)
def heat_map(request: HttpRequest) -> HttpResponse:
    """Where a type's requests came from in the period: a grid counted by the database, drawn
    over the districts, with the busiest cells and the counts by district as tables."""
    form, cut = _filtered(request)
    if isinstance(cut, HttpResponse):
        return cut
    data = form.cleaned_data
    today = timezone.localdate()
    start, end = queries.period_for(data, today)
    map_kind = data.get("map") or ""
    if not Boundary.objects.filter(kind=map_kind).exists():
        map_kind = _default_map_kind(cut)
    context: dict[str, Any] = {
        "form": form,
        "start": start,
        "end": end,
        "map_kind": map_kind,
        "choices": _choices(report_departments(request.user)),
        "chosen": cut.type_ids is not None,
    }
    if cut.type_ids is not None:
        box = heat.city_box()
        grid = heat.grid_for(box)
        found = heat.cells(cut, start, end, grid)
        busiest = heat.busiest(found, map_kind)
        for row in busiest:
            # The square's own requests: the work queue's `box` of its published points.
            row["link"] = cut.link(status="any", since=start, until=end, box=row["cell"].box)
        drawing = heat.drawing(found, map_kind)
        for square in drawing["squares"] if drawing else []:
            n = square["cell"].n
            square["link"] = cut.link(status="any", since=start, until=end, box=square["cell"].box)
            # Said here, not by a template tag per square: a city's map has hundreds.
            square["label"] = ngettext(
                "%(shown)s request in this square", "%(shown)s requests in this square", n
            ) % {"shown": metrics.count_text(n)}
        context.update(
            grid=grid,
            cells=len(found),
            total=sum(c.n for c in found),
            heat=drawing,
            busiest=busiest,
            areas=queries.by_area(cut, map_kind, start, end, today) if map_kind else [],
            metres=heat.cell_metres(grid, box),
        )
    return render(request, "reports/heat.html", context)


def _month(request: HttpRequest) -> date | None:
    value = request.GET.get("month", "")
    if not value:
        return timezone.localdate().replace(day=1) - timedelta(days=1)
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        return None


@staff_required(can=can_see_reports, message=REPORTS_ONLY)
def monthly_report(request: HttpRequest, fmt: str = "html") -> HttpResponse:
    """The charter-shaped monthly report: a page, ?format=csv or ?format=pdf."""
    month = _month(request)
    if month is None:
        return _bad(request, None, gettext("Give the month as YYYY-MM, for example 2026-11."))
    if fmt == "csv":
        with translation.override("en"):  # a data file: English, as the schedule writes it
            text = monthly.csv_text(monthly.build(month, report_departments(request.user)))
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="monthly-{month:%Y-%m}.csv"'
        return response
    report = monthly.build(month, report_departments(request.user))
    stem = f"monthly-{report.month:%Y-%m}"
    if fmt == "pdf":
        pdf = monthly.pdf_bytes(report)
        if pdf is None:
            return HttpResponse(
                gettext("The PDF library (WeasyPrint) is not installed."), status=503
            )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{stem}.pdf"'
        return response
    context = {"report": report, "statuses": monthly.STATUSES, "month": f"{report.month:%Y-%m}"}
    return render(request, "reports/monthly.html", context)


CONTACTS_ONLY = cast(
    str, _("Supervisors, managers and administrators see the call centre's figures.")
)
# How far back the contact totals look unless asked: twelve weeks, or twelve months.
CONTACT_PERIODS_SHOWN = 12


def _contact_range(request: HttpRequest, grain: str) -> tuple[date, date]:
    """The first and last day asked (`from`, `to`), else the last twelve weeks or months."""
    today = contact_reports.city_today()
    asked = []
    for name in ("from", "to"):
        given = request.GET.get(name, "").strip()[:20]
        try:
            asked.append(date.fromisoformat(given) if given else None)
        except ValueError:
            raise contact_reports.PeriodProblem(
                gettext("“%(given)s” is not a day: give it as 2026-12-03.") % {"given": given}
            ) from None
    last = asked[1] or today
    if asked[0] is not None:
        return asked[0], last
    first = contact_reports.period_start(last, grain)
    for _n in range(CONTACT_PERIODS_SHOWN - 1):
        first = contact_reports.period_start(first - timedelta(days=1), grain)
    return first, last


@staff_required(can=can_see_call_centre_reports, message=CONTACTS_ONLY)
def contact_totals(request: HttpRequest, fmt: str = "html") -> HttpResponse:
    """Contacts by week or month (`?by=week|month&from=&to=`): by kind and channel, handle
    time median and p90 (contacts.reports.totals); a page, or contacts.csv."""
    grain = request.GET.get("by", "week")
    try:
        first, last = _contact_range(request, grain)
        found = contact_reports.totals(grain, first, last)
    except contact_reports.PeriodProblem as e:
        return _bad(request, None, str(e))
    if fmt == "csv":
        response = HttpResponse(
            contact_reports.totals_csv(found), content_type="text/csv; charset=utf-8"
        )
        name = f"contacts-{grain}-{first.isoformat()}-{last.isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    context = {
        "found": found,
        "grain": grain,
        "first": first,
        "last": last,
        "kinds": [(k.value, k.label) for k in Kind],
        "channels": [(c.value, c.label) for c in CONTACT_CHANNELS],
    }
    return render(request, "reports/contacts.html", context)
