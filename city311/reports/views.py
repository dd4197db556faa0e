"""The report pages: thin views over reports.queries."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from city311.accounts.decorators import staff_required
from city311.catalog.models import ServiceType
from city311.geo.models import Boundary
from city311.reports import mapsvg, metrics, queries
from city311.reports.access import can_see_reports, report_departments
from city311.reports.forms import ReportForm
from city311.servicerequests.models import Team

REPORTS_ONLY = "The reports are for supervisors and managers."


def _bad(request: HttpRequest, form: ReportForm | None, problem: str) -> HttpResponse:
    context = {"form": form, "problem": problem}
    return render(request, "reports/bad_filter.html", context, status=400)


@staff_required(can=can_see_reports, message=REPORTS_ONLY)
def dashboard(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.GET)
    if not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())
        return _bad(request, form, problems)
    data = form.cleaned_data
    departments = report_departments(request.user)
    try:
        cut = queries.cut_for(departments, data)
    except queries.NotFound as e:
        return _bad(request, form, str(e))
    today = timezone.localdate()
    start, end = queries.period_for(data, today)
    tiles, facts = queries.tiles(cut, start, end, today)
    grain = data.get("by") or ("day" if (end - start).days <= 45 else "month")
    map_kind = data.get("map") or _default_map_kind(cut)
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
        "channels": queries.by_channel(cut, start, end),
        "types": queries.by_type(cut, start, end, today),
        "map_kind": map_kind,
        "map": _map(map_kind, areas),
        "areas": areas,
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
    return {
        "types": types.order_by("service_name").values_list("service_code", "service_name"),
        "groups": sorted({g for g in types.values_list("group", flat=True) if g}),
        "departments": queries.departments_named(departments),
        "teams": teams.order_by("name").values_list("slug", "name"),
        "areas": [(f"{a.kind}:{a.code}", f"{a.get_kind_display()}: {a.name}") for a in areas],
    }
