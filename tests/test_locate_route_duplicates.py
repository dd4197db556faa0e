"""Every channel's request is located, checked against the city limits, routed and de-duplicated."""

import pytest

from city311.catalog.models import Department
from city311.geo.models import Boundary
from city311.servicerequests import actions
from city311.servicerequests.errors import RequestError, SubmissionInvalid
from city311.servicerequests.models import Channel, RequestEvent, RoutingRule, Status
from city311.test import BaseTestCase, any_city, referral
from tests import small_city


class LocatedCityTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _small_city(self, tmp_path):
        small_city.load(tmp_path)
        self.north = Boundary.objects.get(kind="service_zone", code="N")
        self.south = Boundary.objects.get(kind="service_zone", code="S")


@any_city
class LocationTests(LocatedCityTestCase):
    def test_an_address_is_geocoded_to_a_point(self):
        sr = self.report(lat=None, long=None, address_string="1382 dumont ave")
        self.assertAlmostEqual(sr.lat, 40.67, places=4)
        self.assertAlmostEqual(sr.long, small_city.dumont_long(1382), places=4)
        self.assertEqual(sr.location_match, "address")
        self.assertEqual(sr.address_id, "dumont-1382")
        self.assertEqual(sr.zipcode, "11208")

    def test_the_areas_are_recorded_as_filed(self):
        sr = self.report(lat=40.67, long=-73.93, address_string="")
        self.assertEqual(sr.areas["service_zone"], {"code": "N", "name": "North zone"})
        self.assertIn("city_limits", sr.areas)

    def test_a_pin_without_an_address_gets_the_nearest_address(self):
        sr = self.report(lat=40.6701, long=small_city.dumont_long(1382), address_string="")
        self.assertIn("1382", sr.address_string)
        self.assertEqual(sr.location_match, "pin")

    def test_a_point_outside_the_city_is_refused_with_the_referral(self):
        with self.assertRaises(SubmissionInvalid) as caught:
            self.report(lat=small_city.OUTSIDE[0], long=small_city.OUTSIDE[1])
        self.assertIn(referral(), caught.exception.errors["location"][0])

    def test_an_unknown_address_is_refused_with_what_to_do(self):
        with self.assertRaises(SubmissionInvalid) as caught:
            self.report(lat=None, long=None, address_string="99999 Nowhere Boulevard")
        self.assertIn("We could not find", caught.exception.errors["address_string"][0])

    def test_an_address_id_is_a_location(self):
        sr = self.report(lat=None, long=None, address_string="", address_id="vansiclen-520")
        self.assertAlmostEqual(sr.long, -73.925)

    def test_an_unknown_address_id_is_refused(self):
        with self.assertRaises(SubmissionInvalid) as caught:
            self.report(lat=None, long=None, address_string="", address_id="nope")
        self.assertIn(
            "There is no address with id 'nope'", caught.exception.errors["address_id"][0]
        )

    def test_a_type_without_location_may_be_outside(self):
        sr = self.report(
            service_code="permit_question",
            answers={},
            lat=small_city.OUTSIDE[0],
            long=small_city.OUTSIDE[1],
        )
        self.assertEqual(sr.status, Status.OPEN)

    def test_reimported_boundaries_do_not_move_old_requests(self):
        sr = self.report(lat=40.67, long=-73.93)
        path = small_city.write_geojson(
            self.tmp / "z.geojson",
            [
                small_city.feature(
                    "Whole zone", small_city.square(-74, 40.6, -73.9, 40.7), code="W"
                ),
            ],
        )
        from django.core.management import call_command

        call_command(
            "import_boundaries", str(path), kind="service_zone", code_property="code", verbosity=0
        )
        sr.refresh_from_db()
        self.assertEqual(sr.areas["service_zone"]["name"], "North zone")
        self.assertEqual(self.report(lat=40.67, long=-73.93).areas["service_zone"]["code"], "W")

    def test_the_citys_own_addresses_are_inside_where_the_drawn_limits_cut_them_off(self):
        # City limits are simplified lines: here they pass 59 m west of Van Siclen Avenue,
        # whose addresses the city's own file holds (New York's 246-09 Jericho Turnpike lies
        # 0.3 m outside New York's drawn limits).
        self.draw_limits_to(-73.9257)
        by_id = self.report(lat=None, long=None, address_string="", address_id="vansiclen-520")
        self.assertEqual(by_id.status, Status.OPEN)
        at_the_door = self.report(lat=40.664, long=-73.925, address_string="")
        self.assertIn("520", at_the_door.address_string)
        # The portal's map says the same of a pin dropped there.
        pin = self.client.get("/api/reverse", {"lat": 40.664, "long": -73.925}).json()
        self.assertTrue(pin["in_city"])
        # 300 m beyond the last address, the drawn limits decide: outside.
        with self.assertRaises(SubmissionInvalid) as caught:
            self.report(lat=40.664, long=-73.9215, address_string="")
        self.assertIn(referral(), caught.exception.errors["location"][0])
        far = self.client.get("/api/reverse", {"lat": 40.664, "long": -73.9215}).json()
        self.assertFalse(far["in_city"])

    def test_an_address_of_the_file_well_beyond_the_limits_is_outside(self):
        # A regional address file holds the neighbours' addresses too: 590 m out is outside.
        self.draw_limits_to(-73.932)
        with self.assertRaises(SubmissionInvalid) as caught:
            self.report(lat=None, long=None, address_string="", address_id="vansiclen-520")
        self.assertIn(referral(), caught.exception.errors["location"][0])

    def draw_limits_to(self, east: float) -> None:
        from django.core.management import call_command

        limits = small_city.write_geojson(
            self.tmp / "drawn.geojson",
            [small_city.feature("Small City", small_city.square(-74.0, 40.6, east, 40.7))],
        )
        call_command("import_boundaries", str(limits), kind="city_limits", verbosity=0)

    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path):
        self.tmp = tmp_path


class RoutingTests(LocatedCityTestCase):
    def setUp(self):
        super().setUp()
        self.sanitation = Department.objects.create(name="Sanitation", slug="sanitation")

    def routed_event(self, sr):
        return RequestEvent.objects.get(request=sr, kind="request.routed")

    def test_without_rules_the_type_default_department_gets_it(self):
        sr = self.report()
        self.assertEqual(sr.department, self.streets)
        self.assertIn("the type's default department", self.routed_event(sr).note)

    def test_a_type_and_area_rule_routes_and_says_which_rule(self):
        rule = RoutingRule.objects.create(
            service_type=self.pothole, area=self.north, department=self.sanitation
        )
        sr = self.report(lat=40.67, long=-73.93)
        self.assertEqual(sr.department, self.sanitation)
        self.assertEqual(
            self.routed_event(sr).note, f"Sent to Sanitation, North zone, by rule {rule.pk}."
        )
        self.assertEqual(self.routed_event(sr).data["rule"], rule.pk)

    def test_a_rule_for_another_area_does_not_apply(self):
        RoutingRule.objects.create(
            service_type=self.pothole, area=self.south, department=self.sanitation
        )
        self.assertEqual(self.report(lat=40.67, long=-73.93).department, self.streets)

    def test_a_group_rule_applies_to_every_type_in_the_group(self):
        RoutingRule.objects.create(group="Streets", area=self.north, department=self.sanitation)
        self.assertEqual(self.report(lat=40.67, long=-73.93).department, self.sanitation)

    def test_a_type_rule_beats_a_group_rule(self):
        RoutingRule.objects.create(group="Streets", area=self.north, department=self.sanitation)
        RoutingRule.objects.create(
            service_type=self.pothole, area=self.north, department=self.parks
        )
        self.assertEqual(self.report(lat=40.67, long=-73.93).department, self.parks)

    def test_an_area_rule_beats_a_citywide_rule(self):
        RoutingRule.objects.create(service_type=self.pothole, department=self.parks)
        RoutingRule.objects.create(
            service_type=self.pothole, area=self.north, department=self.sanitation
        )
        self.assertEqual(self.report(lat=40.67, long=-73.93).department, self.sanitation)
        self.assertEqual(self.report(lat=40.62, long=-73.93).department, self.parks)

    def test_an_inactive_rule_is_ignored(self):
        RoutingRule.objects.create(service_type=self.pothole, department=self.parks, active=False)
        self.assertEqual(self.report().department, self.streets)


class DuplicateTests(LocatedCityTestCase):
    def test_a_report_near_an_open_one_of_the_same_type_is_flagged(self):
        first = self.report(lat=40.67, long=-73.93)
        second = self.report(
            lat=40.6702, long=-73.93, channel=Channel.OPEN311, application="SomeApp"
        )
        self.assertEqual(second.possible_duplicate_of, first)

    def test_a_report_farther_than_the_radius_is_not_flagged(self):
        self.report(lat=40.67, long=-73.93)
        self.assertIsNone(self.report(lat=40.671, long=-73.93).possible_duplicate_of)

    def test_a_closed_request_is_not_offered(self):
        first = self.report(lat=40.67, long=-73.93)
        actions.close_request(first, resolution="completed", note="Filled", by=self.dana)
        self.assertIsNone(self.report(lat=40.67, long=-73.93).possible_duplicate_of)

    def test_a_related_type_counts(self):
        self.tree.related_types.add(self.pothole)
        first = self.report(service_code="fallen_tree", answers={}, lat=40.67, long=-73.93)
        self.assertEqual(self.report(lat=40.67, long=-73.93).possible_duplicate_of, first)

    def test_the_nearest_then_newest_is_offered_first(self):
        far = self.report(lat=40.6703, long=-73.93)
        near = self.report(lat=40.6701, long=-73.93)
        self.assertEqual(self.report(lat=40.67, long=-73.93).possible_duplicate_of, near)
        self.assertNotEqual(near, far)

    def test_the_radius_is_set_per_type(self):
        self.pothole.duplicate_radius_m = 200
        self.pothole.save()
        first = self.report(lat=40.67, long=-73.93)
        self.assertEqual(self.report(lat=40.671, long=-73.93).possible_duplicate_of, first)


class MergeTests(LocatedCityTestCase):
    def setUp(self):
        super().setUp()
        self.parent = self.report(lat=40.67, long=-73.93)
        self.child = self.report(lat=40.6701, long=-73.93)
        self.sign_in(self.dana)

    def test_dana_merges_a_request_into_another_on_the_work_page(self):
        r = self.client.post(
            f"/work/requests/{self.child.tracking_number}/merge",
            {"into": self.parent.tracking_number},
            follow=True,
        )
        self.assertContains(r, f"Merged into {self.parent.tracking_number}.")
        self.child.refresh_from_db()
        self.assertEqual((self.child.status, self.child.resolution), (Status.CLOSED, "duplicate"))
        self.assertEqual(self.child.duplicate_of, self.parent)
        self.assertTrue(
            RequestEvent.objects.filter(request=self.parent, kind="request.merged").exists()
        )

    def test_the_work_page_offers_nearby_open_requests_to_merge_with(self):
        r = self.client.get(f"/work/requests/{self.child.tracking_number}/")
        self.assertContains(r, self.parent.tracking_number)

    def test_when_the_parent_closes_the_merged_request_hears_of_it(self):
        actions.merge_request(self.child, into=self.parent, by=self.dana)
        actions.close_request(
            self.parent, resolution="completed", note="Filled both.", by=self.dana
        )
        event = RequestEvent.objects.get(request=self.child, kind="request.parent_closed")
        self.assertTrue(event.public)
        self.assertEqual(event.note, "Filled both.")
        self.assertEqual(event.data["parent"], self.parent.tracking_number)

    def test_a_request_cannot_merge_into_a_closed_one(self):
        actions.close_request(self.parent, resolution="completed", note="Done", by=self.dana)
        with self.assertRaisesMessage(RequestError, "is closed: reopen it first"):
            actions.merge_request(self.child, into=self.parent, by=self.dana)

    def test_a_request_cannot_merge_into_itself(self):
        r = self.client.post(
            f"/work/requests/{self.child.tracking_number}/merge",
            {"into": self.child.tracking_number},
            follow=True,
        )
        self.assertContains(r, "cannot be merged into itself")

    def test_merging_into_a_mistyped_number_says_check_the_number(self):
        r = self.client.post(
            f"/work/requests/{self.child.tracking_number}/merge",
            {"into": "123-4567-891"},
            follow=True,
        )
        self.assertContains(r, "Check the number")


@any_city
class LocationApiTests(LocatedCityTestCase):
    def test_geocode_returns_ranked_candidates(self):
        body = self.client.get("/api/geocode", {"q": "1382 Dumont Avenue, Brooklyn"}).json()
        best = body["candidates"][0]
        self.assertIn("1382", best["address"])
        self.assertEqual(best["match"], "address")

    def test_geocode_without_a_query_says_what_to_send(self):
        r = self.client.get("/api/geocode")
        self.assertEqual(r.status_code, 400)
        self.assertIn("?q=", r.json()["error"])

    def test_autocomplete_suggests_as_you_type(self):
        body = self.client.get("/api/autocomplete", {"q": "1382 dum"}).json()
        self.assertTrue(any("1382" in s["address"] for s in body["suggestions"]))

    def test_reverse_gives_the_nearest_address_and_areas(self):
        body = self.client.get("/api/reverse", {"lat": 40.6701, "long": -73.93}).json()
        self.assertTrue(body["in_city"])
        self.assertIn("North zone", [a["name"] for a in body["areas"]])
        self.assertIsNotNone(body["nearest_address"])

    def test_reverse_outside_the_city_gives_the_referral(self):
        body = self.client.get(
            "/api/reverse", {"lat": small_city.OUTSIDE[0], "long": small_city.OUTSIDE[1]}
        ).json()
        self.assertFalse(body["in_city"])
        self.assertIn(referral(), body["referral"])

    def test_reverse_with_bad_numbers_says_what_to_send(self):
        r = self.client.get("/api/reverse", {"lat": "north", "long": "1"})
        self.assertEqual(r.status_code, 400)

    def test_duplicates_lists_nearby_open_requests_without_personal_data(self):
        sr = self.report(lat=40.67, long=-73.93)
        r = self.client.get(
            "/api/duplicates", {"service_code": "pothole", "lat": 40.6701, "long": -73.93}
        )
        self.assertEqual(r.json()["requests"][0]["tracking_number"], sr.tracking_number)
        for private in ("rosa", "Diaz", "7185550199"):
            self.assertNotIn(private, r.content.decode())

    def test_duplicates_for_an_unknown_type_says_so(self):
        r = self.client.get("/api/duplicates", {"service_code": "nope", "lat": 1, "long": 1})
        self.assertEqual(r.status_code, 400)


class CornerTests(LocatedCityTestCase):
    def test_a_request_at_a_corner_is_located_there(self):
        sr = self.report(lat=None, long=None, address_string="Dumont and Van Siclen")
        self.assertEqual(sr.location_match, "intersection")
        self.assertEqual((round(sr.lat, 4), round(sr.long, 4)), (40.67, -73.925))
