"""The maps' own base, for a city with no tile server: what is around a place, from the city's
imported address file, places and boundaries. Public, bounded, cached, and no personal data."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

from city311.test import BaseTestCase
from tests import small_city

LOCMEM_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Around 1350 Dumont Avenue and the corner of Van Siclen Avenue.
AROUND_DUMONT = "-73.9360,40.6650,-73.9200,40.6750"


@override_settings(CACHES=LOCMEM_CACHE)
class AroundTests(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _small_city(self, tmp_path):
        self.tmp_path = tmp_path
        small_city.load(tmp_path)

    def setUp(self):
        from django.core.cache import cache

        cache.clear()

    def around(self, bbox: str = AROUND_DUMONT):
        return self.client.get("/api/map/around.geojson", {"bbox": bbox})

    def kinds(self, data, kind: str) -> list[dict]:
        return [f for f in data["features"] if f["properties"]["kind"] == kind]

    def test_it_draws_the_house_numbers_and_streets_around_a_place(self):
        r = self.around()
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r["Content-Type"], "application/geo+json")
        data = r.json()
        numbers = {f["properties"]["number"] for f in self.kinds(data, "address")}
        self.assertIn("1350", numbers)
        self.assertIn("540", numbers)  # on Van Siclen Avenue
        self.assertNotIn("1300", numbers)  # at -73.94, west of the box
        streets = {f["properties"]["name"]: f for f in self.kinds(data, "street")}
        self.assertEqual(set(streets), {"Dumont Avenue", "Van Siclen Avenue"})
        # Dumont Avenue runs east-west along latitude 40.67, through the box.
        [line] = streets["Dumont Avenue"]["geometry"]["coordinates"]
        self.assertTrue(all(abs(lat - 40.67) < 0.0001 for _long, lat in line))
        self.assertLess(line[0][0], -73.93)
        self.assertGreater(line[-1][0], -73.925)
        # Van Siclen Avenue runs north-south along longitude -73.925.
        [line] = streets["Van Siclen Avenue"]["geometry"]["coordinates"]
        self.assertTrue(all(abs(long + 73.925) < 0.0001 for long, _lat in line))

    def test_it_draws_the_lines_between_areas_and_names_the_area(self):
        data = self.around().json()
        lines = self.kinds(data, "boundary")
        # The line between the North and South zones (latitude 40.65) is south of this box;
        # the box around it shows it, for both zones.
        self.assertEqual(lines, [])
        self.assertIn({"kind": "service_zone", "name": "North zone"}, data["areas"])
        data = self.around("-73.9400,40.6450,-73.9300,40.6550").json()
        names = {f["properties"]["name"] for f in self.kinds(data, "boundary")}
        self.assertEqual(names, {"North zone", "South zone"})
        for feature in self.kinds(data, "boundary"):
            coordinates = feature["geometry"]["coordinates"]
            flat = coordinates if feature["geometry"]["type"] == "LineString" else coordinates[0]
            # The zones' shared edge, not the box's own edges.
            self.assertTrue(all(abs(lat - 40.65) < 1e-6 for _long, lat in flat))

    def test_it_draws_the_city_limits_and_named_places(self):
        data = self.around("-73.9600,40.6750,-73.9400,40.6850").json()
        places = [f["properties"]["name"] for f in self.kinds(data, "place")]
        self.assertEqual(places, ["Chandler Park"])
        data = self.around("-74.0050,40.6600,-73.9950,40.6700").json()
        lines = self.kinds(data, "boundary")
        # The west edge of the city, which is the North zone's west edge too.
        self.assertEqual(
            [(f["properties"]["area"], f["properties"]["name"]) for f in lines],
            [("city_limits", "Small City"), ("service_zone", "North zone")],
        )

    def test_it_carries_nothing_but_the_citys_geography(self):
        self.report(address_string="1350 Dumont Avenue", lat=40.67, long=-73.93)
        text = self.around().content.decode()
        for private in ("Rosa", "rosa@example.org", "718-555-0199", "Deep hole", "pothole"):
            self.assertNotIn(private, text)

    def test_a_box_too_large_or_malformed_is_a_clear_400(self):
        r = self.around("-74.0,40.6,-73.9,40.7")
        self.assertEqual(r.status_code, 400)
        self.assertIn("too large", r.json()["error"])
        self.assertIn("Zoom in", r.json()["error"])
        for bad in ("", "x", "1,2,3", "-73.93,40.67,-73.94,40.68", "nan,40.6,-73.9,40.61"):
            r = self.around(bad)
            self.assertEqual(r.status_code, 400, bad)
            self.assertIn("west,south,east,north", r.json()["error"], bad)
        self.assertEqual(self.client.get("/api/map/around.geojson").status_code, 400)

    def test_nearby_boxes_share_one_answer_until_the_city_imports_new_addresses(self):
        first = self.around("-73.9360,40.6650,-73.9200,40.6750").content
        nudged = self.around("-73.9355,40.6652,-73.9201,40.6749").content
        self.assertEqual(first, nudged)
        addresses = small_city.write_addresses(self.tmp_path / "fewer.csv", skip=(1350,))
        call_command("import_addresses", str(addresses), verbosity=0)
        numbers = {f["properties"]["number"] for f in self.kinds(self.around().json(), "address")}
        self.assertNotIn("1350", numbers)
        self.assertIn("1352", numbers)


@override_settings(CACHES=LOCMEM_CACHE)
class OutsideTests(BaseTestCase):
    """A place the city's pack names as outside ("..., Hoboken NJ") is referred, not matched to
    a street inside: on the report page (see tests/browser/test_map.py) and in the lookup."""

    @pytest.fixture(autouse=True)
    def _small_city(self, tmp_path):
        small_city.load(tmp_path)

    def test_the_lookup_says_outside_and_where_to_go_instead(self):
        body = self.client.get("/api/geocode", {"q": "10 Main St, Hoboken NJ"}).json()
        self.assertEqual(body["candidates"], [])
        self.assertFalse(body["in_city"])
        self.assertIn("outside", body["referral"])
        body = self.client.get("/api/geocode", {"q": "1382 Dumont Avenue"}).json()
        self.assertTrue(body["in_city"])
        self.assertEqual(body["referral"], "")

    def test_the_report_page_refers_it_without_javascript(self):
        self.client.get("/report/pothole/")
        r = self.client.post("/report/pothole/location/", {"address": "10 Main St, Hoboken NJ"})
        self.assertContains(r, "outside", status_code=r.status_code)
        self.assertNotContains(r, "We could not find", status_code=r.status_code)
