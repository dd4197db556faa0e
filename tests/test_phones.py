"""Phone numbers read by one set of rules on every channel: the portal, the console, Open311,
following and the SMS webhook.

Rosa leaves only a phone number and asks for updates: she must hear back by text, or be told at
once why she cannot.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from city311.lib import phones
from city311.notifications.models import Delivery, DeliveryStatus, Follower
from city311.notifications.tasks import send_due_deliveries
from city311.servicerequests.models import Contact, ServiceRequest
from city311.servicerequests.tasks import dispatch_events
from city311.test import BaseTestCase, text_the_city
from tests import small_city
from tests import test_open311_post as posts
from tests.helpers import city311_env, run_city311
from tests.test_open311 import error_descriptions
from tests.test_portal_report import ReportTestCase

# The city, the format and FixMyStreet's key, as the Open311 POST tests set them up.
city, fmt, key = posts.city, posts.fmt, posts.key
post, pothole = posts.post, posts.pothole

MISSING_AREA_CODE = "Enter the whole number with its area code, such as 212-555-0134."


def deliver() -> None:
    """What the worker does after each commit: run the event stream, then send what is due."""
    dispatch_events()
    send_due_deliveries()


class RulesTests(BaseTestCase):
    """The rules themselves, as every channel applies them."""

    def test_it_reads_a_number_however_it_is_written(self):
        for written in ("212 555 0134", "(212) 555-0134", "212.555.0134", "+1 212-555-0134"):
            self.assertEqual(phones.normalise(written), "+12125550134", written)

    def test_it_shows_a_number_as_people_write_it_and_reads_it_out_digit_by_digit(self):
        self.assertEqual(phones.display("+12125550134"), "(212) 555-0134")
        self.assertEqual(phones.display("+442079460018"), "+44 20 7946 0018")
        self.assertEqual(phones.spoken("+12125550134"), "2 1 2, 5 5 5, 0 1 3 4")

    def test_it_says_what_is_missing_from_a_number_without_its_area_code(self):
        with self.assertRaisesMessage(phones.PhoneError, MISSING_AREA_CODE):
            phones.normalise("555-0134")

    def test_it_refuses_a_toll_free_number_for_texts_but_keeps_it_for_calls(self):
        self.assertEqual(phones.normalise("1-800-555-0199"), "+18005550199")
        with self.assertRaisesMessage(phones.PhoneError, "cannot receive text messages"):
            phones.for_texts("1-800-555-0199")

    @override_settings(CITY311_PHONE_REGION="GB")
    def test_it_reads_numbers_in_the_citys_own_region(self):
        self.assertEqual(phones.normalise("020 7946 0018"), "+442079460018")
        self.assertEqual(phones.display("+442079460018"), "020 7946 0018")
        with self.assertRaisesMessage(phones.PhoneError, "a landline"):
            phones.for_texts("020 7946 0018")


@override_settings(CITY311_SMS_PROVIDER="file")
class PortalTests(ReportTestCase):
    def test_the_phone_only_reporter_hears_back_by_text(self):
        self.report_pothole(email="", phone="212 555 0134", wants_updates="on")
        sr = ServiceRequest.objects.get()
        self.assertEqual(Contact.objects.get(request=sr).phone, "+12125550134")
        deliver()
        delivery = Delivery.objects.get(request=sr)
        self.assertEqual((delivery.channel, delivery.status), ("sms", DeliveryStatus.SENT))
        self.assertEqual(delivery.follower.phone, "+12125550134")

    def test_a_number_without_its_area_code_gets_a_clear_error_on_the_contact_step(self):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        r = self.give_contact(email="", phone="555-0134", wants_updates="on")
        self.assertContains(r, MISSING_AREA_CODE)
        self.assertNotContains(r, "Check your report")

    def test_updates_by_text_to_a_toll_free_number_are_refused_at_once(self):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        r = self.give_contact(email="", phone="1-800-555-0199", wants_updates="on")
        self.assertContains(r, "cannot receive text messages")

    def test_the_review_page_shows_the_number_as_people_write_it(self):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        r = self.give_contact(email="", phone="2125550134", wants_updates="on")
        self.assertContains(r, "(212) 555-0134")


class FollowingTests(BaseTestCase):
    def follow(self, sr, **data):
        return self.client.post(f"/track/{sr.tracking_number}/follow", data)

    def test_following_by_a_number_without_its_area_code_says_what_is_missing(self):
        sr = self.report()
        r = self.follow(sr, phone="555-0134")
        self.assertContains(r, MISSING_AREA_CODE, status_code=400)
        self.assertFalse(Follower.objects.filter(request=sr, role="follower").exists())

    def test_a_spanish_page_says_it_in_spanish(self):
        sr = self.report()
        self.client.cookies["django_language"] = "es"
        r = self.follow(sr, phone="1-800-555-0199")
        spanish = "Ese número es un número gratuito y no puede recibir mensajes de texto"
        self.assertContains(r, spanish, status_code=400)
        r = self.follow(sr, phone="555-0134")
        self.assertContains(r, "Escriba el número completo con su código de área", status_code=400)


class ConsoleTests(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _small_city(self, tmp_path):
        small_city.load(tmp_path)

    def test_omar_is_told_to_ask_the_caller_for_the_area_code(self):
        self.sign_in(self.omar)
        r = self.client.post(
            "/console/new/pothole/",
            {
                "address_string": "1382 Dumont Ave",
                "attribute[size]": "large",
                "description": "Caller says it is deep",
                "phone": "555-0134",
                "wants_updates": "1",
            },
        )
        self.assertContains(r, MISSING_AREA_CODE, status_code=400)
        self.assertEqual(ServiceRequest.objects.count(), 0)

    def test_omar_files_a_caller_whose_number_is_stored_in_one_form(self):
        self.sign_in(self.omar)
        self.client.post(
            "/console/new/pothole/",
            {
                "address_string": "1382 Dumont Ave",
                "attribute[size]": "large",
                "description": "Caller says it is deep",
                "phone": "(212) 555-0134",
                "wants_updates": "1",
            },
        )
        self.assertEqual(Contact.objects.get().phone, "+12125550134")


class TextingTheCityTests(BaseTestCase):
    def test_stop_from_a_number_written_another_way_still_stops_it(self):
        sr = self.report(email="", phone="(212) 555-0134")
        deliver()
        text_the_city(self.client, From="+12125550134", Body="STOP")
        self.assertIsNotNone(Follower.objects.get(request=sr).sms_stopped_at)

    def test_a_text_from_a_number_that_is_not_one_is_answered_and_ignored(self):
        r = text_the_city(self.client, From="short-code", Body="STOP")
        self.assertEqual(r.status_code, 200)


class TestOpen311:
    def test_a_number_without_its_area_code_is_a_400_with_the_message(self, client, key, fmt):
        r = post(client, fmt, pothole(key, phone="555-0134"))
        assert MISSING_AREA_CODE in error_descriptions(r, fmt, 400)
        assert not ServiceRequest.objects.exists()

    def test_a_phone_only_reporter_is_stored_in_e164(self, client, key, fmt):
        r = post(client, fmt, pothole(key, phone="212 555 0134"))
        assert r.status_code == 200, r.content
        assert Contact.objects.get().phone == "+12125550134"


def test_a_region_phone_numbers_do_not_know_stops_start_up():
    done = run_city311("check", env=city311_env(CITY311_PHONE_REGION="XX"))
    assert done.returncode != 0
    assert "CITY311_PHONE_REGION" in done.stderr
