"""Residents' own words find the service they mean (the demo city's real catalog)."""

import pytest
from django.test import TestCase

from city311.catalog.search import suggest_types, words
from city311.demo import loader

# Case titles from Boston's 311 open data, and things residents say on the phone.
FIRST = [
    ("Request for Pothole Repair", "pothole"),
    ("Pick up Dead Animal", "dead_animal"),
    ("Street Light Outages", "streetlight_out"),
    ("Schedule a Bulk Item Pickup", "bulky_item_pickup"),
    ("Graffiti Removal", "graffiti"),
    ("Abandoned Vehicles", "abandoned_vehicle"),
    ("Rodent Activity", "rodents"),
    ("Missed Trash: District 06", "missed_trash_collection"),
    ("Empty Litter Basket", "litter_basket"),
    ("Traffic Signal Inspection", "traffic_signal_out"),
    ("there's a huge hole in the road", "pothole"),
    ("the street light on my corner is out", "streetlight_out"),
    ("someone dumped a mattress on the sidewalk", "illegal_dumping"),
    ("my neighbors are playing loud music every night", "noise_residential"),
    ("a tree fell and is blocking the road", "fallen_tree"),
    ("car has been abandoned for weeks", "abandoned_vehicle"),
    ("rats in the alley behind my building", "rodents"),
    ("no heat in my apartment", "heat_hot_water"),
    ("water is flooding the street", "street_flooding"),
    ("graffitti on the wall", "graffiti"),
]
TOP_THREE = [
    ("Sidewalk Repair (Make Safe)", "damaged_sidewalk"),
    ("Sign Repair", "street_sign_damaged"),
    ("Pest Infestation - Residential", "unsanitary_condition"),
    ("Loud Parties/Music/People", "noise_residential"),
]


class SuggestTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        loader.load_catalog()

    def codes(self, text, limit=5):
        return [t.service_code for t, _ in suggest_types(text, limit=limit)]

    def test_it_puts_the_meant_service_first(self):
        misses = [
            (text, code, self.codes(text)[:1])
            for text, code in FIRST
            if self.codes(text)[:1] != [code]
        ]
        self.assertEqual(misses, [])

    def test_it_has_the_meant_service_among_the_first_three(self):
        misses = [(text, code) for text, code in TOP_THREE if code not in self.codes(text, 3)]
        self.assertEqual(misses, [])

    def test_it_never_suggests_an_emergency_as_a_request(self):
        self.assertNotIn("fire", self.codes("there is a fire in my building"))

    def test_spanish_words_find_the_service_by_its_spanish_name_accents_or_not(self):
        self.assertEqual(self.codes("hay un bache en mi calle")[:1], ["pothole"])
        self.assertEqual(self.codes("recolección de muebles")[:1], ["bulky_item_pickup"])
        self.assertEqual(self.codes("recoleccion de muebles")[:1], ["bulky_item_pickup"])

    def test_the_portal_may_ask_for_emergencies_to_send_residents_to_911(self):
        found = [t.service_code for t, _ in suggest_types("fire", emergencies=True)]
        self.assertEqual(found[:1], ["fire"])

    def test_nothing_meaningful_suggests_nothing(self):
        self.assertEqual(self.codes("the and of"), [])
        self.assertEqual(self.codes(""), [])

    def test_the_api_answers_with_codes_and_names(self):
        body = self.client.get("/api/services/suggest", {"q": "pot holes"}).json()
        self.assertIn("pothole", [s["service_code"] for s in body["services"]])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Potholes on 5th!", ["pothole", "5th"]),
        ("There's a tree", ["tree"]),
        ("bodies", ["body"]),
    ],
)
def test_words_fold_plurals_and_drop_stopwords(text, expected):
    assert words(text) == expected
