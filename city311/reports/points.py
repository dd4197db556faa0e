"""The open requests of a cut as points on the dashboard's map: drawn on the server as SVG over
the districts (no tiles, no script, no network, like the choropleth), each point a link to its
request in the work queue.

A big city has more open work than a map can show one by one: up to `CAP` requests are drawn
as points; beyond that they are counted into squares by the database (one GROUP BY, never one
row per request) and each square is drawn as a circle sized by its count, linking to the work
queue's list of the open requests in that square (its `box` filter).

What a point tells: the tracking number, the type, how long it has been open, whether it is
overdue. Nothing about the resident; the place is rounded as the open data rounds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Floor
from django.urls import reverse
from django.utils import timezone

from city311.catalog import cache as catalog_cache
from city311.geo.boundaries import areas_at
from city311.reports import heat, mapsvg
from city311.reports.opendata import ROUNDED_DIGITS
from city311.reports.queries import Cut
from city311.servicerequests.models import LIVE_WORK, ServiceRequest

# Points drawn one by one up to this many; beyond, squares about CLUSTER_ACROSS to the city.
CAP = 400
CLUSTER_ACROSS = 24


@dataclass
class Point:
    x: str
    y: str
    tracking_number: str
    service_name: str
    days_open: int
    overdue: bool
    link: str


@dataclass
class Cluster:
    x: str
    y: str
    r: str
    n: int
    area: str
    link: str


def open_requests(cut: Cut) -> QuerySet[ServiceRequest]:
    """The live open requests of this cut that have a place (the work queue's, not history)."""
    found: QuerySet[ServiceRequest] = ServiceRequest.objects.filter(
        LIVE_WORK, lat__isnull=False, long__isnull=False
    )
    found = cut.narrow(found, type_field="service_type_id")
    if cut.area_kind:
        found = found.filter(Q(**{f"areas__{cut.area_kind}__code": cut.area_code}))
    return found


def drawing(cut: Cut, kind: str) -> dict[str, Any] | None:
    """The SVG's parts: the districts of `kind` as outlines, and the open requests as points
    (or, past CAP, as clusters); None when there is nothing to draw."""
    found = open_requests(cut)
    rows = list(
        found.order_by("due_at", "pk").values_list(
            "tracking_number", "service_type_id", "lat", "long", "requested_at", "due_at",
            "paused_at",
        )[: CAP + 1]
    )  # fmt: skip
    if not rows:
        return None
    paths, frame = mapsvg.drawn(kind) if kind else ({}, None)
    if len(rows) <= CAP:
        # Every row has a place (open_requests); rounded as the open data rounds it.
        located = [(_rounded(r[2]), _rounded(r[3]), r) for r in rows]
        frame = frame or _frame_around([(lat, long) for lat, long, _ in located])
        points = [_point(frame, lat, long, row) for lat, long, row in located]
        return _parts(frame, paths, total=len(points), points=points, clusters=[])
    cells = _cells(found)
    frame = frame or _frame_around([(c.lat, c.long) for c in cells])
    top = max(c.n for c in cells)
    clusters = [_cluster(frame, cut, kind, c, top) for c in cells]
    return _parts(frame, paths, total=sum(c.n for c in cells), points=[], clusters=clusters)


def _rounded(degrees: float | None) -> float:
    return round(degrees or 0.0, ROUNDED_DIGITS)


def _parts(frame: mapsvg.Frame, paths: dict[str, str], **drawn: Any) -> dict[str, Any]:
    return {"width": mapsvg.WIDTH, "height": frame.height, "outlines": list(paths.values()),
            "cap": CAP, **drawn}  # fmt: skip


def _frame_around(places: list[tuple[float, float]]) -> mapsvg.Frame:
    margin = 10.0**-ROUNDED_DIGITS
    return mapsvg.frame_around(
        min(long for _, long in places) - margin,
        min(lat for lat, _ in places) - margin,
        max(long for _, long in places) + margin,
        max(lat for lat, _ in places) + margin,
    )


def _point(frame: mapsvg.Frame, lat: float, long: float, row: tuple[Any, ...]) -> Point:
    number, type_id, _lat, _long, requested_at, due_at, paused_at = row
    now = timezone.now()
    x, y = frame.xy(long, lat)
    service_type = catalog_cache.catalog().by_pk.get(type_id)
    return Point(
        x=f"{x:.1f}",
        y=f"{y:.1f}",
        tracking_number=number,
        service_name=service_type.service_name if service_type else "",
        days_open=max(0, (now - requested_at).days),
        overdue=_overdue(due_at, paused_at, now),
        link=reverse("work:detail", args=[number]),
    )


def _overdue(due_at: datetime | None, paused_at: datetime | None, now: datetime) -> bool:
    """ServiceRequest.is_overdue, for an open request read as values."""
    if due_at is None or (paused_at is not None and paused_at < due_at):
        return False
    return due_at < now


def _cells(found: QuerySet[ServiceRequest]) -> list[heat.Cell]:
    """The open requests counted into squares (rounded first, as the heat map rounds)."""
    grid = heat.grid_for(heat.city_box(), across=CLUSTER_ACROSS)
    lat = Floor(F("lat") / heat.STEP + 0.5)
    long = Floor(F("long") / heat.STEP + 0.5)
    rows = (
        found.annotate(
            cell_row=Floor(lat / grid.lat_steps), cell_column=Floor(long / grid.long_steps)
        )
        .values("cell_row", "cell_column")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [heat.Cell(int(r["cell_row"]), int(r["cell_column"]), r["n"], grid) for r in rows]


def _cluster(frame: mapsvg.Frame, cut: Cut, kind: str, cell: heat.Cell, top: int) -> Cluster:
    x, y = frame.xy(cell.long, cell.lat)
    area = next((a for a in areas_at(cell.lat, cell.long) if a.kind == kind), None)
    # The square's own open requests: the work queue's `box` of its published points.
    link = cut.link(box=cell.box)
    return Cluster(
        x=f"{x:.1f}",
        y=f"{y:.1f}",
        r=f"{3 + 9 * math.sqrt(cell.n / top):.1f}",
        n=cell.n,
        area=area.name if area else "",
        link=link,
    )
