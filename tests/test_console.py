"""Omar files requests for callers from the operator console."""

import pytest

from city311.servicerequests.models import Contact, ServiceRequest
from city311.test import BaseTestCase, referral
from tests import small_city


class ConsoleTests(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _small_city(self, tmp_path):
        small_city.load(tmp_path)

    def setUp(self):
        super().setUp()
        self.sign_in(self.omar)

    def file(self, code="pothole", **data):
        values = {
            "address_string": "1382 Dumont Ave",
            "attribute[size]": "large",
            "description": "Caller says it is deep",
            "first_name": "Rosa",
            "phone": "718-555-0199",
            "wants_updates": "1",
        }
        values.update(data)
        return self.client.post(f"/console/new/{code}/", values, follow=True)

    def test_omar_finds_the_service_by_a_word_the_caller_uses(self):
        r = self.client.get("/console/", {"q": "potholes"})
        self.assertContains(r, "/console/new/pothole/")
        self.assertNotContains(r, "/console/new/fallen_tree/")

    def test_omar_sees_every_service_by_group_without_a_search(self):
        r = self.client.get("/console/")
        self.assertContains(r, "/console/new/pothole/")
        self.assertContains(r, "/console/new/fallen_tree/")

    def test_omar_files_a_phone_request_and_reads_the_number_back(self):
        r = self.file()
        sr = ServiceRequest.objects.get()
        self.assertContains(r, sr.tracking_number)
        self.assertContains(r, "Read it back")
        self.assertEqual((sr.channel, sr.address_id), ("phone", "dumont-1382"))
        self.assertEqual(sr.events.first().actor, self.omar)
        self.assertEqual(Contact.objects.get(request=sr).phone, "+17185550199")

    def test_problems_are_shown_together_and_answers_are_kept(self):
        r = self.file(
            **{"attribute[size]": "", "email": "not-an-email", "attribute[depth_cm]": "deep"}
        )
        self.assertEqual(r.status_code, 400)
        self.assertContains(r, "Answer the question “How big is it?”", status_code=400)
        self.assertContains(r, "is not an e-mail address", status_code=400)
        self.assertContains(r, 'value="deep"', status_code=400)
        self.assertEqual(ServiceRequest.objects.count(), 0)

    def test_nearby_open_requests_are_offered_before_filing_again(self):
        first = self.report(lat=None, long=None, address_string="1382 Dumont Ave")
        r = self.file()
        self.assertContains(r, "Is it one of these?")
        self.assertContains(r, first.tracking_number)
        self.assertContains(r, 'value="large" checked')
        self.assertEqual(ServiceRequest.objects.count(), 1)
        r = self.file(file_anyway="1")
        self.assertContains(r, "Request filed")
        self.assertEqual(ServiceRequest.objects.count(), 2)

    def test_the_caller_follows_a_nearby_open_request_instead_of_filing(self):
        from city311.notifications.models import Follower

        first = self.report(lat=None, long=None, address_string="1382 Dumont Ave")
        r = self.client.post(
            f"/console/follow/{first.tracking_number}/",
            {"phone": "917-555-0123", "language": "es"},
            follow=True,
        )
        self.assertContains(r, "The caller now follows this request")
        self.assertContains(r, first.tracking_number)
        self.assertEqual(ServiceRequest.objects.count(), 1)
        follower = Follower.objects.get(request=first, phone__endswith="9175550123")
        self.assertEqual(follower.language, "es")

    def test_following_without_a_phone_or_email_says_what_is_needed(self):
        first = self.report(lat=None, long=None, address_string="1382 Dumont Ave")
        r = self.client.post(f"/console/follow/{first.tracking_number}/", {}, follow=True)
        self.assertContains(r, "Give an e-mail address or a phone number")

    def test_an_emergency_type_says_transfer_to_911_and_has_no_form(self):
        r = self.client.get("/console/new/fire/")
        self.assertContains(r, "Transfer the caller to 911")
        self.assertNotContains(r, "File the request")

    def test_an_address_outside_the_city_gets_the_referral(self):
        r = self.file(
            address_string="", lat=str(small_city.OUTSIDE[0]), long=str(small_city.OUTSIDE[1])
        )
        self.assertContains(r, referral(), status_code=400)

    def test_dana_cannot_file_from_the_console(self):
        self.sign_in(self.dana)
        self.assertEqual(self.client.get("/console/").status_code, 403)
