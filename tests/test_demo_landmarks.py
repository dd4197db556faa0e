"""The demo city knows the places a New Yorker names: each landmark, public building and corner
the pack ships (city311/demo/cities/nyc/sources/) lies in its borough, its address is an
address point there, and typing its name or address on the report page finds it."""

import csv

from django.core.cache import cache
from django.test import TestCase

from city311.demo import loader
from city311.demo.cities.nyc import build_addresses
from city311.geo.boundaries import areas_at
from city311.geo.models import AddressPoint, BoundaryKind, Place
from city311.lib.distance import metres as metres_between

SOURCES = build_addresses.PACK / "sources"


def rows(name: str) -> list[dict[str, str]]:
    with (SOURCES / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def borough_at(lat: float, long: float) -> str | None:
    return {a.kind: a.name for a in areas_at(lat, long)}.get(BoundaryKind.BOROUGH)


class DemoLandmarkTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        loader.load_pack("nyc", sections={"boundaries", "addresses", "places", "corners"})

    def setUp(self):
        cache.clear()

    def find(self, text: str) -> dict:
        answer = self.client.get("/api/geocode", {"q": text})
        self.assertEqual(answer.status_code, 200)
        candidates = answer.json()["candidates"]
        self.assertTrue(candidates, f"{text!r} was not found")
        return candidates[0]

    def assertNear(self, found: dict, lat: float, long: float, metres: float = 150) -> None:
        away = metres_between(found["lat"], found["long"], lat, long)
        self.assertLess(away, metres, f"{found['address']} is {away:.0f} m from the place")

    def test_there_are_landmarks_in_every_borough(self):
        boroughs = {row["BOROUGH"] for row in rows("landmarks.csv")}
        self.assertEqual(boroughs, {"Manhattan", "Bronx", "Brooklyn", "Queens", "Staten Island"})
        self.assertGreaterEqual(len(rows("landmarks.csv")), 80)

    def test_each_landmark_lies_inside_its_borough(self):
        for row in rows("landmarks.csv"):
            with self.subTest(row["NAME"]):
                at = borough_at(float(row["LAT"]), float(row["LONG"]))
                self.assertEqual(at, row["BOROUGH"])

    def test_each_known_corner_lies_inside_its_borough(self):
        for row in rows("corners.csv"):
            with self.subTest(f"{row['STREET1']} and {row['STREET2']}"):
                self.assertEqual(borough_at(float(row["LAT"]), float(row["LON"])), row["CITY"])

    def test_each_landmark_is_a_place_and_its_address_an_address_point_of_its_borough(self):
        for row in rows("landmarks.csv"):
            with self.subTest(row["NAME"]):
                self.assertTrue(Place.objects.filter(name=row["NAME"]).exists())
                if not row["NUMBER"]:
                    continue
                point = AddressPoint.objects.get(
                    number=row["NUMBER"], street=row["STREET"], postcode=row["POSTCODE"]
                )
                self.assertEqual(point.city, row["BOROUGH"])
                self.assertEqual(borough_at(point.lat, point.long), row["BOROUGH"])

    def test_each_landmark_is_found_by_its_name(self):
        for row in rows("landmarks.csv"):
            with self.subTest(row["NAME"]):
                self.assertNear(self.find(row["NAME"]), float(row["LAT"]), float(row["LONG"]))

    def test_the_places_a_newcomer_typed_are_found(self):
        typed = {
            "1 Centre St, Manhattan": (40.7131, -74.0042),
            "City Hall": (40.712772, -74.006058),
            "Yankee Stadium": (40.829643, -73.926175),
            "JFK Airport": (40.641311, -73.778139),
            "Grand Concourse and E 161 St": (40.8276, -73.9227),
            "Municipal Building": (40.7131, -74.0042),
            "LaGuardia": (40.776927, -73.873966),
        }
        for text, (lat, long) in typed.items():
            with self.subTest(text):
                self.assertNear(self.find(text), lat, long)

    def test_350_5th_ave_is_an_address_not_only_a_street(self):
        found = self.find("350 5th Ave")
        self.assertEqual(found["match"], "address")
        self.assertTrue(found["address"].startswith("350 5 Avenue"), found["address"])
        self.assertNear(found, 40.748441, -73.985664, metres=30)
