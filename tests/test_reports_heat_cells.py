"""The heat map's cells kept by the event stream (reports.models.HeatCell): a period's whole
months are read from them, its first and last days from the requests, and the answer is the
same as counting the requests themselves; each square clicks through to exactly its requests.

The city: two council districts side by side, each 0.2° square, so the grid's squares are
several rounding steps wide. Potholes are filed, then moved in time around the city's month
edges (local midnight, a microsecond before it); one changes type, one is moved to the other
district, one is merged into another, one is deleted. Twenty tree reports make the first
batch (and a later one) big enough for the consumer to count them set-wise in SQL
(reports.recount); the changes between them are counted one by one in Python.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from datetime import date, datetime, time, timedelta

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from city311.catalog.models import ServiceType
from city311.geo.boundaries import areas_at
from city311.geo.datasets import bump_version
from city311.geo.locate import PIN, Located
from city311.geo.models import Boundary
from city311.reports.models import HeatCell
from city311.servicerequests import actions
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.servicerequests.tasks import dispatch_events
from city311.test import BaseTestCase, CityMixin, city_today, city_zone

STEP = 0.001
MICROSECOND = timedelta(microseconds=1)


def square(west: float, south: float, size: float = 0.2) -> dict:
    east, north = west + size, south + size
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def month_start(day: date, back: int) -> date:
    """The first day of the month `back` months before `day`'s."""
    first = day.replace(day=1)
    for _ in range(back):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def midnight(day: date) -> datetime:
    """The first moment of `day` in the city's time zone."""
    return datetime.combine(day, time(), tzinfo=city_zone())


class HeatCellTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for code, west in (("1", -74.0), ("2", -73.8)):
            Boundary.objects.create(
                kind="council_district", code=code, name=f"District {code}",
                geometry=square(west, 40.6), min_long=west, min_lat=40.6,
                max_long=west + 0.2, max_lat=40.8,
            )  # fmt: skip
        bump_version("boundaries", source="test", rows=2)
        c = cls
        today = city_today()
        cls.two_ago, cls.last = month_start(today, 2), month_start(today, 1)
        one = (40.7001, -73.9004)  # district 1
        two = (40.7002, -73.7005)  # district 2
        places = {
            "edge": (one, midnight(cls.two_ago)),  # the first moment of a month
            "before": (one, midnight(cls.two_ago) - MICROSECOND),  # the month before's last
            "late": (two, midnight(cls.last) - MICROSECOND),  # the last moment of a month
            "middle": (two, midnight(cls.last + timedelta(days=14))),
            "retyped": (one, midnight(cls.last + timedelta(days=3))),
            "moved": (one, midnight(cls.last + timedelta(days=4))),
            "merged": ((40.7049, -73.8951), midnight(cls.last + timedelta(days=5))),
            "deleted": (one, midnight(cls.last + timedelta(days=6))),
            "today": (one, midnight(today)),
        }
        cls.r = {}
        for name, ((lat, long), at) in places.items():
            sr = CityMixin.report(c, lat=lat, long=long)
            ServiceRequest.objects.filter(pk=sr.pk).update(requested_at=at)
            RequestEvent.objects.filter(request=sr).update(at=at)
            cls.r[name] = sr
        cls.trees = [
            CityMixin.report(c, service_code="fallen_tree", answers={}, lat=40.75, long=-73.75)
            for _ in range(20)
        ]
        dispatch_events()  # 29 requests: counted set-wise
        # A few changes, counted one by one.
        tree = ServiceType.objects.get(service_code="fallen_tree")
        actions.reclassify_request(
            cls.r["retyped"], service_type=tree, by=c.dana, reason="It is a tree"
        )
        lat, long = 40.6502, -73.7503
        located = Located(lat=lat, long=long, address="Elsewhere", match=PIN,
                          areas=areas_at(lat, long))  # fmt: skip
        actions.verify_location(cls.r["moved"], located=located, by=c.dana)
        dispatch_events()
        # Then a batch of more than twenty, counted set-wise: the merge and a note on each tree.
        actions.merge_request(cls.r["merged"], into=cls.r["middle"], by=c.dana)
        for sr in cls.trees:
            actions.add_note(sr, text="Crew sent.", public=False, by=c.dana)
        dispatch_events()
        cls.r["deleted"].delete()

    def heat(self, query: str):
        self.sign_in(self.max)
        response = self.client.get(f"/reports/heat/?type=pothole&{query}")
        self.assertEqual(response.status_code, 200, response.content[:400])
        return response

    def counted_directly(self, since: date, until: date, area: str = "") -> Counter:
        """Each square's potholes, counted here from the requests as they stand."""
        grid = self.heat(f"period=custom&since={since}&until={until}").context["grid"]
        found = ServiceRequest.objects.filter(
            service_type__service_code="pothole",
            requested_at__gte=midnight(since),
            requested_at__lt=midnight(until + timedelta(days=1)),
        )
        counts: Counter = Counter()
        for sr in found:
            if area and (sr.areas.get("council_district") or {}).get("code") != area:
                continue
            lat, long = math.floor(sr.lat / STEP + 0.5), math.floor(sr.long / STEP + 0.5)
            counts[(lat // grid.lat_steps, long // grid.long_steps)] += 1
        return counts

    def squares(self, response) -> Counter:
        drawn = response.context["heat"]["squares"]
        return Counter({(s["cell"].row, s["cell"].column): s["cell"].n for s in drawn})

    def test_whole_months_are_read_from_the_cells_and_equal_a_direct_count(self):
        since, until = self.two_ago, city_today().replace(day=1) - timedelta(days=1)
        query = f"period=custom&since={since}&until={until}"
        with CaptureQueriesContext(connection) as queries:
            response = self.heat(query)
        read = [q["sql"] for q in queries.captured_queries]
        self.assertTrue(any("reports_heatcell" in sql for sql in read))
        self.assertFalse(any("FLOOR" in sql.upper() for sql in read))  # no request counted
        expected = self.counted_directly(since, until)
        self.assertEqual(self.squares(response), expected)
        # edge, late, middle, moved (its place changed, not its date), merged; not before
        # (the month before), retyped (now a tree), deleted, today.
        self.assertEqual(response.context["total"], 5)

    def test_a_period_with_part_months_adds_its_edge_days_counted_from_the_requests(self):
        since, until = self.two_ago - timedelta(days=1), city_today()
        expected = self.counted_directly(since, until)
        response = self.heat(f"period=custom&since={since}&until={until}")
        self.assertEqual(self.squares(response), expected)
        self.assertEqual(response.context["total"], 7)  # and before, and today

    def test_the_district_filter_reads_the_districts_cells(self):
        since, until = self.two_ago, city_today()
        for code in ("1", "2"):
            response = self.heat(f"period=custom&since={since}&until={until}"
                                 f"&area=council_district:{code}")  # fmt: skip
            self.assertEqual(self.squares(response), self.counted_directly(since, until, code))
        moved = self.r["moved"]
        moved.refresh_from_db()
        self.assertEqual(moved.areas["council_district"]["code"], "2")

    def test_a_rebuild_counts_the_same_cells_set_wise(self):
        kept = sorted(HeatCell.objects.exclude(n=0).values_list(
            "area_kind", "area_code", "type_id", "month", "department_id", "channel",
            "cell_row", "cell_column", "n",
        ))  # fmt: skip
        call_command("rebuild_reports", verbosity=0)
        rebuilt = sorted(HeatCell.objects.values_list(
            "area_kind", "area_code", "type_id", "month", "department_id", "channel",
            "cell_row", "cell_column", "n",
        ))  # fmt: skip
        self.assertEqual(kept, rebuilt)

    def test_each_square_clicks_through_to_exactly_its_requests(self):
        since, until = self.two_ago - timedelta(days=1), city_today()
        response = self.heat(f"period=custom&since={since}&until={until}")
        page = response.content.decode()
        found = re.findall(r'<a class="square" href="([^"]+)" aria-label="(\d+) requests? in', page)
        links = [link for link, _ in found]
        drawn = response.context["heat"]["squares"]
        self.assertEqual([int(n) for _, n in found], [s["cell"].n for s in drawn])
        grid = response.context["grid"]
        everyone = ServiceRequest.objects.filter(
            service_type__service_code="pothole", requested_at__gte=midnight(since)
        )
        listed = 0
        for square, link in zip(response.context["heat"]["squares"], links, strict=True):
            cell = square["cell"]
            mine = {
                sr.tracking_number
                for sr in everyone
                if (math.floor(sr.lat / STEP + 0.5) // grid.lat_steps,
                    math.floor(sr.long / STEP + 0.5) // grid.long_steps) == (cell.row, cell.column)
            }  # fmt: skip
            self.assertEqual(len(mine), cell.n)
            queue = self.client.get(html.unescape(link)).content.decode()
            for sr in everyone:
                if sr.tracking_number in mine:
                    self.assertIn(sr.tracking_number, queue)
                else:
                    self.assertNotIn(sr.tracking_number, queue)
            listed += len(mine)
        self.assertEqual(listed, response.context["total"])

    def test_a_bad_square_is_answered_with_what_to_fix(self):
        self.sign_in(self.max)
        response = self.client.get("/work/?box=north")
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "west,south,east,north", status_code=400)
