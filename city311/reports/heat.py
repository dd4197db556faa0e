"""The heat map of a type: where its requests came from in a period, counted into a grid by
the database (one row per cell, never one per request), drawn on the server as SVG over the
city's districts, with a table of the busiest cells beside it.

Privacy: every point is rounded to the open data's `ROUNDED_DIGITS` (about 100 m, what the
open data publishes for the types whose descriptions are withheld) before it is counted, and a
cell is a whole number of those steps wide, at least one: the map can show nothing finer than
the open data does.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Floor

from city311.cities import profile
from city311.geo.boundaries import areas_at
from city311.geo.models import Boundary
from city311.reports import mapsvg
from city311.reports.models import HeatCell, HeatGrid, MonthTotal, RequestFact
from city311.reports.opendata import ROUNDED_DIGITS
from city311.reports.queries import Cut, parts
from city311.servicerequests.models import ServiceRequest

STEP = 10.0**-ROUNDED_DIGITS
# About this many cells across the city's width.
ACROSS = 48
# Five classes of a cell's count relative to the busiest cell, light to dark.
CLASSES = [(0.0, "#fee5d9"), (0.2, "#fcae91"), (0.4, "#fb6a4a"), (0.6, "#de2d26"), (0.8, "#a50f15")]
BUSIEST = 25


@dataclass(frozen=True)
class Grid:
    """Cells `lat_steps` by `long_steps` rounding steps (STEP degrees) high and wide, aligned
    on the rounded points: cell `row` holds the points rounded to `row * lat_steps` up to
    `row * lat_steps + lat_steps - 1` steps."""

    lat_steps: int
    long_steps: int

    def cell(self, lat_step: int, long_step: int) -> tuple[int, int]:
        """The row and column of the cell a point rounded to these whole steps falls in."""
        return lat_step // self.lat_steps, long_step // self.long_steps

    @property
    def lat_step(self) -> float:
        return self.lat_steps * STEP

    @property
    def long_step(self) -> float:
        return self.long_steps * STEP


@dataclass
class Cell:
    row: int
    column: int
    n: int
    grid: Grid

    # The edges of the points that round into the cell: half a step before its first.
    @property
    def south(self) -> float:
        return (self.row * self.grid.lat_steps - 0.5) * STEP

    @property
    def west(self) -> float:
        return (self.column * self.grid.long_steps - 0.5) * STEP

    @property
    def lat(self) -> float:
        return round(self.south + self.grid.lat_step / 2, ROUNDED_DIGITS)

    @property
    def box(self) -> str:
        """The published points the cell holds, as the work queue's `box` filter reads them:
        west,south,east,north, its first and last rounded points, in degrees."""
        south, west = self.row * self.grid.lat_steps, self.column * self.grid.long_steps
        north, east = south + self.grid.lat_steps - 1, west + self.grid.long_steps - 1
        digits = ROUNDED_DIGITS
        return ",".join(f"{steps * STEP:.{digits}f}" for steps in (west, south, east, north))

    @property
    def long(self) -> float:
        return round(self.west + self.grid.long_step / 2, ROUNDED_DIGITS)


def city_box() -> tuple[float, float, float, float] | None:
    """West, south, east, north of the city limits (or of every area when none)."""
    areas = Boundary.objects.all()
    if areas.filter(kind="city_limits").exists():
        areas = areas.filter(kind="city_limits")
    box = list(areas.values_list("min_long", "min_lat", "max_long", "max_lat"))
    if not box:
        return None
    return (
        min(b[0] for b in box),
        min(b[1] for b in box),
        max(b[2] for b in box),
        max(b[3] for b in box),
    )


def grid_for(box: tuple[float, float, float, float] | None, *, across: int = ACROSS) -> Grid:
    """About `across` square cells over the city's width, each a whole number (at least one)
    of the open data's rounding steps."""
    if box is None:
        return Grid(10, 10)
    west, south, east, north = box
    long_steps = max(1, math.ceil((east - west) / across / STEP))
    squeeze = math.cos(math.radians((south + north) / 2))
    return Grid(max(1, math.ceil(long_steps * squeeze)), long_steps)


def current_grid() -> Grid:
    """The grid the city's boundaries give now."""
    return grid_for(city_box())


def counted_grid(*, start: bool = False) -> Grid | None:
    """The grid the heat cells are counted in (models.HeatGrid); None when they are not
    counted. With `start`, a city with no facts yet starts counting in the current grid (the
    consumer then counts every request from its first); a city counted before the heat cells
    existed waits for `rebuild_reports`."""
    found = HeatGrid.objects.first()
    if found is not None:
        return Grid(found.lat_steps, found.long_steps)
    if start and not RequestFact.objects.exists():
        return reset_grid()
    return None


def reset_grid() -> Grid:
    """Count the heat cells in the current grid from now on (the caller recounts them)."""
    grid = current_grid()
    HeatGrid.objects.all().delete()
    HeatGrid.objects.create(lat_steps=grid.lat_steps, long_steps=grid.long_steps)
    return grid


def cell_metres(grid: Grid, box: tuple[float, float, float, float] | None) -> int:
    """A cell's width on the ground, about."""
    middle = (box[1] + box[3]) / 2 if box else 0.0
    return round(grid.long_step * 111_320 * math.cos(math.radians(middle)))


def requests_of(cut: Cut, start: date, end: date) -> QuerySet[ServiceRequest]:
    """The requests of this cut received in the period, with a point. The period's days are
    the city's, as the heat cells' months are, also outside a request (whose middleware makes
    the city's zone the current one), as in the benchmark."""
    zone = profile.zone()
    first = datetime.combine(start, time(), tzinfo=zone)
    last = datetime.combine(end + timedelta(days=1), time(), tzinfo=zone)
    found: QuerySet[ServiceRequest] = ServiceRequest.objects.filter(
        requested_at__gte=first, requested_at__lt=last, lat__isnull=False, long__isnull=False
    )
    found = cut.narrow(found, type_field="service_type_id")
    if cut.area_kind:
        found = found.filter(Q(**{f"areas__{cut.area_kind}__code": cut.area_code}))
    return found


def cells(cut: Cut, start: date, end: date, grid: Grid) -> list[Cell]:
    """The grid's cells holding requests of this cut in the period, with their counts: the
    whole months from the heat cells (models.HeatCell), when they are counted in this grid and
    the cut is one they keep (no team or urgency), the days before and after them from the
    requests; otherwise the whole period from the requests."""
    periods = parts(start, end)
    monthly = [(first, last) for model, first, last in periods if model is MonthTotal]
    kept = cut.team_id is None and cut.urgent is None
    if not monthly or not kept or counted_grid() != grid:
        return counted(cut, start, end, grid)
    found: dict[tuple[int, int], int] = defaultdict(int)
    first_month, last_month = monthly[0]
    rows = cut.narrow(HeatCell.objects.filter(area_kind=cut.area_kind, area_code=cut.area_code))
    rows = rows.filter(month__gte=first_month, month__lte=last_month)
    for row, column, n in (
        rows.values("cell_row", "cell_column")
        .annotate(n=Sum("n"))
        .order_by()
        .values_list("cell_row", "cell_column", "n")
    ):
        found[(row, column)] += n
    for model, first, last in periods:
        if model is not MonthTotal:
            for c in counted(cut, first, last, grid):
                found[(c.row, c.column)] += c.n
    return [Cell(row, column, n, grid) for (row, column), n in found.items() if n > 0]


def counted(cut: Cut, start: date, end: date, grid: Grid) -> list[Cell]:
    """The grid's cells holding requests of this cut in the period, counted from the
    requests themselves: one GROUP BY in the database over the rounded points."""
    # The point rounded to the open data's steps, as a whole number of steps (floor of x +
    # 1/2: Python's round but for exact ties), then the cell those steps fall in.
    lat = Floor(F("lat") / STEP + 0.5)
    long = Floor(F("long") / STEP + 0.5)
    rows = (
        requests_of(cut, start, end)
        .annotate(
            cell_row=Floor(lat / grid.lat_steps),
            cell_column=Floor(long / grid.long_steps),
        )
        .values("cell_row", "cell_column")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [Cell(int(r["cell_row"]), int(r["cell_column"]), r["n"], grid) for r in rows]


def fill(n: int, top: int) -> str:
    share = n / max(top, 1)
    colour = CLASSES[0][1]
    for low, value in CLASSES:
        if share > low:
            colour = value
    return colour


def drawing(found: list[Cell], kind: str) -> dict[str, Any] | None:
    """The SVG's parts: the districts of `kind` as outlines, the cells as squares."""
    paths, frame = mapsvg.drawn(kind) if kind else ({}, None)
    if frame is None:
        if not found:
            return None
        frame = mapsvg.frame_around(
            min(c.west for c in found),
            min(c.south for c in found),
            max(c.west + c.grid.long_step for c in found),
            max(c.south + c.grid.lat_step for c in found),
        )
    top = max((c.n for c in found), default=0)
    squares = []
    for c in found:
        x0, y0 = frame.xy(c.west, c.south + c.grid.lat_step)
        x1, y1 = frame.xy(c.west + c.grid.long_step, c.south)
        squares.append(
            {
                "x": f"{x0:.1f}",
                "y": f"{y0:.1f}",
                "width": f"{max(x1 - x0, 0.5):.1f}",
                "height": f"{max(y1 - y0, 0.5):.1f}",
                "fill": fill(c.n, top),
                "cell": c,
            }
        )
    legend = [(math.floor(low * top) + 1, colour) for low, colour in CLASSES] if top else []
    return {
        "width": mapsvg.WIDTH,
        "height": frame.height,
        "outlines": list(paths.values()),
        "squares": squares,
        "legend": legend,
        "top": top,
    }


def busiest(found: list[Cell], kind: str, limit: int = BUSIEST) -> list[dict[str, Any]]:
    """The busiest cells, most requests first, each with the area of `kind` its middle is in."""
    rows = []
    for c in sorted(found, key=lambda c: (-c.n, c.row, c.column))[:limit]:
        area = next((a for a in areas_at(c.lat, c.long) if a.kind == kind), None) if kind else None
        rows.append({"cell": c, "area": area})
    return rows
