"""The heat map of a type (/reports/heat/): where a type's requests came from, counted into a
grid by the database, drawn over the districts without a script or a tile server, with the
busiest squares and the districts as tables, and never finer than the open data's rounding.

The city: two council districts side by side, each 0.02° square (so a square of the grid is
one rounding step, 0.001°, wide). Rosa reported three potholes close together in District 1,
one in District 2, a fallen tree (Parks) in District 1, and two reports of a type whose
descriptions the city withholds, 90 m apart but rounding to the same published point.
"""

from __future__ import annotations

import json
import re

from city311.catalog.models import ServiceType
from city311.geo.datasets import bump_version
from city311.geo.models import Boundary
from city311.servicerequests.tasks import dispatch_events
from city311.test import BaseTestCase, CityMixin


def square(west: float, south: float, size: float = 0.02) -> dict:
    east, north = west + size, south + size
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


class HeatMapTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        for code, west in (("1", -74.0), ("2", -73.98)):
            Boundary.objects.create(
                kind="council_district", code=code, name=f"District {code}",
                geometry=square(west, 40.6), min_long=west, min_lat=40.6,
                max_long=west + 0.02, max_lat=40.62,
            )  # fmt: skip
        bump_version("boundaries", source="test", rows=2)  # the area lookups see them now
        c = cls
        cls.near = [
            CityMixin.report(c, lat=lat, long=long)
            for lat, long in ((40.6101, -73.9901), (40.6102, -73.9902), (40.6103, -73.9903))
        ]
        cls.far = CityMixin.report(c, lat=40.6150, long=-73.9650)
        CityMixin.report(c, service_code="fallen_tree", answers={}, lat=40.6101, long=-73.9901)
        cls.private = ServiceType.objects.create(
            service_code="abuse", service_name="Elder abuse", department=cls.streets,
            publish_description=False,
        )  # fmt: skip
        # 40.6104 and 40.6096 both publish as 40.610 (the open data's rounding).
        for lat in (40.6104, 40.6096):
            CityMixin.report(c, service_code="abuse", answers={}, lat=lat, long=-73.9951)
        dispatch_events()

    def heat(self, query: str, user=None):
        self.sign_in(user or self.max)
        response = self.client.get(f"/reports/heat/?{query}")
        self.assertEqual(response.status_code, 200, response.content[:400])
        return response

    def test_requests_close_together_are_one_square_counted_by_the_database(self):
        response = self.heat("type=pothole")
        cells = sorted((c["cell"].n for c in response.context["busiest"]), reverse=True)
        self.assertEqual(cells, [3, 1])
        self.assertEqual(response.context["total"], 4)
        self.assertEqual(len(response.context["heat"]["squares"]), 2)

    def test_the_map_is_drawn_on_the_page_over_the_districts_with_no_script_or_tiles(self):
        html = self.heat("type=pothole").content.decode()
        figure = html[html.index('<figure class="heat">') : html.index("</figure>")]
        self.assertEqual(figure.count('<rect class="cell"'), 2)
        self.assertEqual(figure.count("<path "), 2)  # the two districts' outlines
        self.assertNotIn("<script", figure)
        self.assertIsNone(re.search(r'(src|href)="https?://', figure))

    def test_the_busiest_squares_are_a_table_that_opens_their_requests(self):
        response = self.heat("type=pothole")
        html = response.content.decode()
        table = html[html.index('id="busiest"') :]
        table = table[: table.index("</table>")]
        self.assertIn("District 1", table)
        first = response.context["busiest"][0]
        self.assertEqual(first["cell"].n, 3)
        self.assertIn("box=-73.990%2C40.610%2C-73.990%2C40.610", first["link"])  # its own
        self.assertIn("type=pothole", first["link"])
        queue = self.client.get(first["link"])
        for sr in self.near:
            self.assertContains(queue, sr.tracking_number)
        self.assertNotContains(queue, self.far.tracking_number)

    def test_the_districts_table_counts_each_district(self):
        areas = {a["code"]: a["received"] for a in self.heat("type=pothole").context["areas"]}
        self.assertEqual(areas, {"1": 3, "2": 1})

    def test_a_withheld_type_shows_nothing_finer_than_the_open_data(self):
        response = self.heat("type=abuse")
        busiest = response.context["busiest"]
        # 90 m apart, the same published point: one square, at the published point.
        self.assertEqual([row["cell"].n for row in busiest], [2])
        cell = busiest[0]["cell"]
        self.assertEqual(response.context["grid"].lat_steps, 1)
        published = self.client.get("/open-data/geojson/download")
        points = {
            tuple(f["geometry"]["coordinates"])
            for f in json.loads(b"".join(published.streaming_content))["features"]
            if f["properties"]["service_code"] == "abuse"
        }
        self.assertEqual(points, {(cell.long, cell.lat)})

    def test_a_supervisor_sees_only_her_departments_requests(self):
        self.assertEqual(self.heat("type=fallen_tree").context["total"], 1)
        self.assertEqual(self.heat("type=fallen_tree", user=self.sofia).context["total"], 0)

    def test_staff_of_a_department_may_not_open_it(self):
        self.sign_in(self.pat)
        self.assertEqual(self.client.get("/reports/heat/?type=pothole").status_code, 403)

    def test_without_a_type_it_asks_for_one(self):
        response = self.heat("")
        self.assertContains(response, "Choose a type")
        self.assertNotContains(response, '<figure class="heat">')

    def test_a_bad_filter_is_a_400(self):
        self.sign_in(self.max)
        self.assertEqual(self.client.get("/reports/heat/?type=nope").status_code, 400)
