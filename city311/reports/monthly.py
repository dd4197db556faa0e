"""The monthly report in the shape of New York City's charter (§1075): for one month, requests
by type x department, by resolution status, and the average resolution time; citywide and by
each kind of district. A page, a CSV and a PDF of the same rows, on demand and on a schedule
(reports.tasks.write_monthly_reports)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.fields.json import KeyTextTransform
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext_lazy

from city311.catalog.models import Department, ServiceType
from city311.geo.models import Boundary, BoundaryKind
from city311.reports.models import MonthTotal, RequestFact
from city311.servicerequests.vocabulary import Resolution

# The resolution columns, in order: still open, then each way of closing.
STATUSES = [("open", pgettext_lazy("request status", "Open")), *Resolution.choices]


@dataclass
class Row:
    area: str  # "" citywide, else the area's name
    type_name: str
    department: str
    received: int = 0
    # Of the requests received in the month, how many are open or closed each way now.
    status: dict[str, int] = field(default_factory=dict)
    # Closed in the month, and their mean time to close in days.
    closed: int = 0
    average_days: float | None = None


@dataclass
class Report:
    month: date
    kinds: list[tuple[str, str]]
    citywide: list[Row]
    by_area: dict[str, list[Row]]

    @property
    def title(self) -> str:
        return gettext("Service requests, %(month)s") % {"month": date_format(self.month, "F Y")}


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


def build(month: date, departments: set[int] | None = None) -> Report:
    """The report of `month` (any day in it), of these departments (None: all)."""
    first, last = month_bounds(month)
    kinds = [
        (k, str(label))
        for k, label in BoundaryKind.choices
        if k not in ("city_limits", "pickup_route") and Boundary.objects.filter(kind=k).exists()
    ]
    citywide = _rows("", first, last, departments)
    by_area = {kind: _rows(kind, first, last, departments) for kind, _ in kinds}
    return Report(first, kinds, citywide, by_area)


def _rows(kind: str, first: date, last: date, departments: set[int] | None) -> list[Row]:
    """The rows of each type x department ("" kind: citywide; else in each area of `kind`),
    by area, then type."""
    types = dict(ServiceType.objects.values_list("pk", "service_name"))
    depts = dict(Department.objects.values_list("pk", "name"))
    names = dict(Boundary.objects.filter(kind=kind).values_list("code", "name")) if kind else {}
    rows: dict[tuple[str, int, int], Row] = {}

    def row(code: str, type_id: int, dept_id: int) -> Row:
        key = (code, type_id, dept_id)
        if key not in rows:
            rows[key] = Row(
                area=names.get(code, code),
                type_name=types.get(type_id) or gettext("Type %(id)s") % {"id": type_id},
                department=depts.get(dept_id) or gettext("Not routed"),
            )
        return rows[key]

    facts = RequestFact.objects.filter(received_day__gte=first, received_day__lte=last)
    totals = MonthTotal.objects.filter(day=first, area_kind=kind)
    if departments is not None:
        facts = facts.filter(department_id__in=departments)
        totals = totals.filter(department_id__in=departments)
    if kind:
        facts = facts.annotate(code=KeyTextTransform(kind, "areas")).filter(code__isnull=False)
    grouped = facts.values(*(["code"] if kind else []), "type_id", "department_id", "resolution")
    for found in grouped.annotate(n=Count("pk"), closed=Count("closed_at")):
        r = row(found.get("code", ""), found["type_id"], found["department_id"])
        status = found["resolution"] if found["closed"] else "open"
        r.status[status] = r.status.get(status, 0) + found["n"]
        r.received += found["n"]
    sums = totals.values("area_code", "type_id", "department_id").annotate(
        closed=Sum("closed"), seconds=Sum("closed_seconds")
    )
    for found in sums.filter(closed__gt=0):
        r = row(found["area_code"], found["type_id"], found["department_id"])
        r.closed = found["closed"]
        r.average_days = found["seconds"] / found["closed"] / 86400
    return sorted(rows.values(), key=lambda r: (r.area, r.type_name, r.department))


HEADER = ["Area kind", "Area", "Type", "Department", "Received", *(label for _, label in STATUSES)]
HEADER += ["Closed in the month", "Average days to close"]


def csv_text(report: Report) -> str:
    """The report as CSV: a data file, its header and words in English whatever the page's
    language (the same file the schedule writes)."""
    with translation.override("en"):
        return _csv_text(report)


def _csv_text(report: Report) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(HEADER)
    sections = [("Citywide", report.citywide)]
    sections += [(label, report.by_area[kind]) for kind, label in report.kinds]
    for label, rows in sections:
        for r in rows:
            w.writerow(
                [label, r.area or "Citywide", r.type_name, r.department, r.received,
                 *(r.status.get(s, 0) for s, _ in STATUSES), r.closed,
                 "" if r.average_days is None else f"{r.average_days:.1f}"]
            )  # fmt: skip
    return out.getvalue()


def archive_dir() -> Path:
    path = Path(settings.DATA_DIR) / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pdf_bytes(report: Report) -> bytes | None:
    """The report as a PDF (WeasyPrint, from the page's own template); None without it."""
    try:
        import weasyprint
    except ImportError:  # an install without the PDF library still gives the page and CSV
        return None
    from django.template.loader import render_to_string

    html = render_to_string("reports/monthly_print.html", {"report": report, "statuses": STATUSES})
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf
