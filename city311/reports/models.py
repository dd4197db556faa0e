"""The rollups behind the reports: one fact row per request, and day totals per cut.

Both are derived data, kept by the `reports` consumer of the event stream
(city311.reports.rollup) and rebuilt from the requests by `city311 rebuild_reports`. Nothing else
writes them. Ids of types, departments and teams are plain integers (0 for none), not foreign
keys: a day total outlives the rows it counted, and its unique key needs no NULLs.
"""

from __future__ import annotations

from django.db import models

from city311.servicerequests.models import ServiceRequest

# Time to close and to first response are counted into these buckets (upper bounds, in hours;
# the last one is open-ended). The percentiles the reports show are read from them.
HOUR_BUCKETS = (1, 4, 8, 24, 48, 72, 120, 168, 336, 720, 2160, None)
CLOSE_COLUMNS = tuple(f"close_h{i}" for i in range(len(HOUR_BUCKETS)))
RESPONSE_COLUMNS = tuple(f"response_h{i}" for i in range(len(HOUR_BUCKETS)))


class RequestFact(models.Model):
    """What the reports need of one request, read from it and its history."""

    request = models.OneToOneField(
        ServiceRequest, on_delete=models.CASCADE, primary_key=True, related_name="report_fact"
    )
    type_id = models.IntegerField()
    department_id = models.IntegerField()
    team_id = models.IntegerField()
    channel = models.CharField(max_length=12)
    urgent = models.BooleanField()
    historical = models.BooleanField()
    # {kind: code} of the areas the request was filed in (city limits left out).
    areas = models.JSONField(default=dict)
    requested_at = models.DateTimeField()
    received_day = models.DateField()
    first_response_at = models.DateTimeField(null=True)
    closed_at = models.DateTimeField(null=True)
    closed_day = models.DateField(null=True)
    resolution = models.CharField(max_length=12, blank=True)
    due_at = models.DateTimeField(null=True)
    due_day = models.DateField(null=True)
    # Closed by its due date (null: not closed, or no target). A request closed while its clock
    # was paused is judged at the moment the clock stopped.
    on_time = models.BooleanField(null=True)
    # Open with its clock paused before the due date: not late (docs/sla.md).
    held = models.BooleanField(default=False)
    reopened = models.BooleanField(default=False)
    # The place rounded as the open data rounds it, in whole steps of 10^-ROUNDED_DIGITS
    # degrees (reports.heat.STEP): the heat map's cells are counted from these. None: no place.
    lat_step = models.IntegerField(null=True)
    long_step = models.IntegerField(null=True)

    class Meta:
        indexes = [
            # The closing notes and resolutions of a period (reports.queries.actions_taken).
            models.Index(fields=["closed_day", "type_id"], name="fact_closed_day"),
            # The monthly report: the requests received in one month.
            models.Index(fields=["received_day"], name="fact_received_day"),
        ]

    def __str__(self) -> str:
        return f"Fact {self.request_id}"


COUNTERS = (
    "received",
    "closed",
    "closed_target",
    "closed_on_time",
    "closed_reopened",
    "closed_seconds",
    "open_now",
    "open_due",
    "responded",
    *CLOSE_COLUMNS,
    *RESPONSE_COLUMNS,
)


class Totals(models.Model):
    """The counts of one day (or month) for one cut: a type, department, team, channel,
    urgency, and one area (`area_kind` "" is the whole city; each request counts once there and
    once in each area it was filed in).

    Which day a count belongs to depends on the count:
    - received, open_now, responded, response_h*, close_h*: the day the request was received
      (open_now: received that day and still open; close_h*: received that day, closed since,
      by how long it took);
    - closed, closed_target, closed_on_time, closed_reopened, closed_seconds: the day it closed;
    - open_due: still open (and not held), due that day.
    """

    day = models.DateField()
    type_id = models.IntegerField()
    department_id = models.IntegerField()
    team_id = models.IntegerField()
    channel = models.CharField(max_length=12)
    urgent = models.BooleanField()
    area_kind = models.CharField(max_length=30)
    area_code = models.CharField(max_length=60)

    received = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    closed_target = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    closed_reopened = models.IntegerField(default=0)
    closed_seconds = models.FloatField(default=0)
    open_now = models.IntegerField(default=0)
    open_due = models.IntegerField(default=0)
    responded = models.IntegerField(default=0)
    locals().update({name: models.IntegerField(default=0) for name in CLOSE_COLUMNS})
    locals().update({name: models.IntegerField(default=0) for name in RESPONSE_COLUMNS})

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.day} {self.area_kind}:{self.area_code}"


# What the map reads of each area (reports.queries._grouped).
MAP_COUNTERS = ["received", "closed", "closed_target", "closed_on_time", "open_due"]

CUT = ["area_kind", "area_code", "day", "type_id", "department_id", "team_id", "channel", "urgent"]


class DayTotal(Totals):
    """Totals per day: the backlog's ages, short periods, and the edges of long ones."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=CUT, name="daytotal_one_cut")]
        indexes = [
            # Every read is one area (or the whole city) over a range of days: the unique key
            # above serves it. The backlog and past-due reads take only rows with open requests.
            # Covering (on PostgreSQL): the few rows with open work are read from the index
            # alone, not from pages spread over years of the table.
            models.Index(
                fields=["area_kind", "area_code", "day"],
                name="daytotal_open",
                condition=models.Q(open_now__gt=0) | models.Q(open_due__gt=0),
                include=[*CUT[3:], "open_now", "open_due"],
            ),
            # The map: every area of one kind over a range of days. Covering (on PostgreSQL):
            # the days at a long period's edges are read from the index alone, not from a
            # heap page per few rows (bench/reports.py, "city, ten years").
            models.Index(
                fields=["area_kind", "day"],
                name="daytotal_kind_day",
                include=["area_code", *CUT[3:], *MAP_COUNTERS],
            ),
        ]


class MonthTotal(Totals):
    """The same totals per month (`day` is the month's first day): the whole months of a long
    period are read here, about 30 times fewer rows than their days."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=CUT, name="monthtotal_one_cut")]
        indexes = [models.Index(fields=["area_kind", "day"], name="monthtotal_kind_day")]


# The month summaries' marks for a dimension summed over: every type, department, team,
# channel (urgency is always summed).
EVERY_TYPE = -1
EVERY_DEPARTMENT = -1
EVERY_TEAM = -1
EVERY_CHANNEL = "*"


class MonthSummary(Totals):
    """The month totals summed over the dimensions most answers do not cut by, so a long
    period reads a few rows a month, not one per combination of type, channel and area seen
    that month (a ten-year map of 51 districts read about as many month rows as requests).

    Four kinds of row, told apart by the marks (EVERY_*), all kept by reports.rollup.write:
    - by area: every area of every kind and the whole city (type, department, team, channel
      and urgency summed): the tiles, the chart and the map of a manager's unfiltered view;
    - by area and department: the same per department (a supervisor's view);
    - by type: the whole city, per type and department (team, channel, urgency summed);
    - by channel: the whole city, per channel and department (type, team, urgency summed).
    `urgent` is always False here. Which one a read may use: reports.queries.summary_for.
    """

    class Meta:
        constraints = [models.UniqueConstraint(fields=CUT, name="monthsummary_one_cut")]
        indexes = [
            models.Index(fields=["area_kind", "day"], name="monthsummary_kind_day"),
            # The rows by area (every type and channel): the map's ten years of districts are
            # a few thousand entries read from this index alone (covering, on PostgreSQL),
            # where the planner scanned the whole table (82 ms of a 213 ms map at 1,000,000
            # requests, most of it waiting on the disk).
            models.Index(
                fields=["area_kind", "department_id", "day"],
                name="monthsummary_areas",
                condition=models.Q(type_id=EVERY_TYPE, channel=EVERY_CHANNEL),
                include=["area_code", *MAP_COUNTERS],
            ),
        ]
        verbose_name_plural = "month summaries"


class DaySummary(Totals):
    """The day totals summed per area: every type, department, team, channel and urgency of
    one day in one area (or the whole city) in one row, marked as MonthSummary's by-area rows.

    An unfiltered view's answers over days read these: a short period's tiles and chart, the
    days at a long period's edges, the map's days, and the backlog by day received. Without
    them those read a day total for every combination of type, team, channel and urgency seen
    that day: at 30,000,000 requests the whole city's 30 days were 25,641 rows and its backlog
    1,187,529 (bench/reports.py). Kept by reports.rollup.write with the other totals.
    """

    class Meta:
        constraints = [models.UniqueConstraint(fields=CUT, name="daysummary_one_cut")]
        indexes = [
            # The map: every area of one kind over a range of days, from the index alone.
            models.Index(
                fields=["area_kind", "day"],
                name="daysummary_kind_day",
                include=["area_code", *MAP_COUNTERS],
            ),
        ]
        verbose_name_plural = "day summaries"


class OpenDataLine(models.Model):
    """One request as one open-data file writes it, ready to send (reports.openlines): kept by
    the `open_data` consumer of the event stream and rebuilt after bulk loads, so that a
    download reads ready text in the order of `requested_at` rather than formatting it. A
    table per format: a download reads only its own format's pages."""

    request = models.OneToOneField(
        ServiceRequest, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    requested_at = models.DateTimeField()
    # When the database was read for this line: an older reading never replaces a newer.
    rendered_at = models.DateTimeField()
    # Without its line end (Parquet's: the row as Arrow's CSV reader types it).
    line = models.TextField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"Open data of {self.request_id}"


class OpenDataNyc(OpenDataLine):
    class Meta:
        indexes = [models.Index(fields=["requested_at", "request"], name="opendata_nyc_order")]


class OpenDataGeoReport(OpenDataLine):
    class Meta:
        indexes = [models.Index(fields=["requested_at", "request"], name="opendata_geo_order")]


class OpenDataGeoJson(OpenDataLine):
    class Meta:
        indexes = [models.Index(fields=["requested_at", "request"], name="opendata_json_order")]


class OpenDataParquet(OpenDataLine):
    class Meta:
        indexes = [models.Index(fields=["requested_at", "request"], name="opendata_pq_order")]


class OpenDataShape(models.Model):
    """What the lines were written for (openlines): the city's kinds of area, its time zone
    and phone region (`shape`), and each type's and department's names and whether the type
    publishes descriptions (`catalog`). When these differ from the city's, the lines are not
    served until the lines they touch are written again."""

    shape = models.CharField(max_length=64)
    # {"t<type id>" or "d<department id>": the fingerprint of what a line reads of it}
    catalog = models.JSONField(default=dict)
    # A rebuild done a step at a time by the worker (openlines.rebuild_step): the shape it
    # writes the lines for ('' when none runs), and the last request it wrote, in the order
    # (requested_at, id) it writes them.
    rebuilding = models.CharField(max_length=64, blank=True, default="")
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    rebuilt_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return self.shape


class HeatGrid(models.Model):
    """The grid the heat cells are counted in (one row): cells `lat_steps` by `long_steps`
    rounding steps (reports.heat.Grid). The consumer counts into this grid; `rebuild_reports`
    sets it to the one the city's boundaries give now (reports.heat.current_grid), and the heat
    map reads the cells only while the two agree (a new import of boundaries changes the grid:
    until the rebuild, the map counts the requests themselves)."""

    lat_steps = models.IntegerField()
    long_steps = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.lat_steps}x{self.long_steps}"


# A heat cell's key, in the order of its unique constraint (area first: every read names one).
HEAT_KEY = ("area_kind", "area_code", "type_id", "month", "department_id", "channel",
            "cell_row", "cell_column")  # fmt: skip


class HeatCell(models.Model):
    """How many requests of a type were received in a month (local, the first day of it) in
    one cell of the heat map's grid (HeatGrid), per department and channel, for the whole city
    (`area_kind` "") and for each area they were filed in: the heat map's whole months read
    these, a few thousand rows for ten years of a type, not one per request. Kept by the
    `reports` consumer with the totals (reports.rollup, reports.recount); a cut by team or
    urgency, and the days before and after the whole months, count the requests themselves."""

    month = models.DateField()
    type_id = models.IntegerField()
    department_id = models.IntegerField()
    channel = models.CharField(max_length=12)
    area_kind = models.CharField(max_length=30)
    area_code = models.CharField(max_length=60)
    cell_row = models.IntegerField()
    cell_column = models.IntegerField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=list(HEAT_KEY), name="heatcell_one_cell")]

    def __str__(self) -> str:
        return f"{self.month} {self.type_id} ({self.cell_row}, {self.cell_column}): {self.n}"
