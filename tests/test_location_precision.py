"""Never a silently wrong place: every request says how it was located, and an address the
city's file cannot place within about 50 m is refused with candidates (Open311) or filed
"location to verify", neither routed by area nor mapped, until staff fix it in one click."""

from __future__ import annotations

import pytest
from django.test import override_settings

from city311.geo.models import Boundary
from city311.open311.models import ApiKey
from city311.servicerequests.models import RequestEvent, RoutingRule, ServiceRequest
from city311.test import BaseTestCase
from tests import small_city
from tests.test_open311 import BASE


class PrecisionTests(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _small_city(self, tmp_path):
        small_city.load(tmp_path)

    def setUp(self):
        super().setUp()
        self.key = ApiKey.issue("FixMyStreet")[1]
        # A rule for the north zone: a request routed by its area goes to Parks.
        RoutingRule.objects.create(
            service_type=self.pothole,
            area=Boundary.objects.get(kind="service_zone", code="N"),
            department=self.parks,
        )

    def post(self, **place):
        data = {"api_key": self.key, "service_code": "pothole", "attribute[size]": "large"}
        return self.client.post(f"{BASE}/requests.json", {**data, **place})

    def extended(self, number):
        r = self.client.get(f"{BASE}/requests/{number}.json", {"extensions": "true"})
        return r.json()[0]["extended_attributes"]

    def filed(self, response):
        assert response.status_code == 200, response.content
        return response.json()[0]["service_request_id"]

    def test_each_way_of_giving_a_place_is_recorded_with_its_precision(self):
        cases = [
            ({"address_string": "1382 Dumont Ave"}, "address"),
            ({"address_string": "1383 Dumont Ave"}, "interpolated"),
            ({"address_string": "Dumont and Van Siclen"}, "intersection"),
            ({"address_string": "Chandler Park"}, "place"),
            ({"lat": "40.6701", "long": "-73.9301"}, "pin"),
            ({"address_id": "dumont-1382"}, "address"),
        ]
        for place, precision in cases:
            ext = self.extended(self.filed(self.post(**place)))
            assert (ext["location_precision"], ext["location_to_verify"]) == (precision, False)
        assert {
            sr.location_confidence for sr in ServiceRequest.objects.filter(address_id="dumont-1382")
        } == {1.0}

    def test_an_address_not_placed_within_50_m_is_refused_naming_candidates(self):
        r = self.post(address_string="1450 Dumont Ave")
        assert r.status_code == 400
        said = r.json()[0]["description"]
        assert said.startswith("address_string: We could not place “1450 Dumont Ave” within")
        assert "Did you mean" in said and "Dumont Avenue" in said
        assert said.endswith("Send lat and long, or address_id.")
        assert not ServiceRequest.objects.exists()

    def test_a_street_alone_is_a_question_too(self):
        r = self.post(address_string="Dumont Ave")
        assert r.status_code == 400
        assert "Did you mean" in r.json()[0]["description"]

    def test_published_clients_sending_lat_long_or_an_address_id_are_unaffected(self):
        # FixMyStreet sends lat/long and the address as it read it: kept as given, a pin.
        number = self.filed(self.post(lat="40.67", long="-73.93", address_string="1450 Dumont Ave"))
        ext = self.extended(number)
        assert (ext["location_precision"], ext["location_to_verify"]) == ("pin", False)

    @override_settings(CITY311_UNPLACED_ADDRESSES="verify")
    def test_a_city_may_accept_them_marked_to_verify_and_nothing_treats_them_as_exact(self):
        number = self.filed(self.post(address_string="1450 Dumont Ave"))
        ext = self.extended(number)
        assert (ext["location_precision"], ext["location_to_verify"]) == ("street", True)
        sr = ServiceRequest.objects.get(tracking_number=number)
        # Routed by the type alone (not by the north-zone rule), with no areas kept.
        assert (sr.department, sr.areas) == (self.streets, {})
        mapped = self.client.get("/api/requests.geojson").json()["features"]
        assert number not in str(mapped)
        r = self.client.get(f"{BASE}/requests/{number}.json")
        assert r.json()[0]["address"] == "1450 Dumont Ave"

    @override_settings(CITY311_UNPLACED_ADDRESSES="verify")
    def test_staff_fix_it_in_one_click_with_its_history_event(self):
        number = self.filed(self.post(address_string="1450 Dumont Ave"))
        sr = ServiceRequest.objects.get(tracking_number=number)
        self.sign_in(self.dana)
        page = self.client.get(f"/work/requests/{number}/")
        self.assertContains(page, "Location to verify")
        self.assertContains(page, "Verify the location")
        r = self.client.post(
            f"/work/requests/{number}/locate", {"address_id": "dumont-1398"}, follow=True
        )
        self.assertContains(r, "Location verified.")
        self.assertNotContains(r, 'data-testid="to-verify"')
        sr.refresh_from_db()
        assert (sr.location_match, sr.location_to_verify, sr.address_id) == (
            "address",
            False,
            "dumont-1398",
        )
        assert sr.areas["service_zone"]["code"] == "N"
        event = RequestEvent.objects.get(request=sr, kind="request.location_verified")
        assert event.actor == self.dana and event.data["from"]["to_verify"] is True
        assert self.extended(number)["location_precision"] == "address"

    @override_settings(CITY311_UNPLACED_ADDRESSES="verify")
    def test_or_say_the_point_shown_is_right(self):
        number = self.filed(self.post(address_string="1450 Dumont Ave"))
        self.sign_in(self.dana)
        self.client.post(f"/work/requests/{number}/locate", {"confirm": "1"})
        sr = ServiceRequest.objects.get(tracking_number=number)
        assert (sr.location_match, sr.location_to_verify) == ("pin", False)

    def test_the_console_files_an_unplaced_address_marked_to_verify(self):
        self.sign_in(self.omar)
        values = {
            "address_string": "1450 Dumont Ave",
            "attribute[size]": "large",
            "first_name": "Rosa",
            "phone": "718-555-0199",
        }
        r = self.client.post("/console/new/pothole/", values)
        assert r.status_code == 302
        sr = ServiceRequest.objects.get()
        assert (sr.location_match, sr.location_to_verify) == ("street", True)
