"""Hostile and odd input: a 400 that says what is wrong, never a 500, the same on both databases.

Run these on PostgreSQL too (DATABASE_URL=postgres://...): PostgreSQL refuses what SQLite
stores (a NUL character, a string longer than its column), so a field checked only by the
database is a 500 there and stored junk here.
"""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.conf import settings
from django.test import Client, override_settings

from city311.notifications.models import Follower
from city311.open311.models import ApiKey
from city311.servicerequests.models import Contact, RequestEvent, ServiceRequest, Status
from city311.servicerequests.tasks import dispatch_events
from city311.test import BaseTestCase, text_the_city
from tests import test_open311 as reads
from tests.test_open311 import BASE, error_descriptions, read

city = reads.city
fmt = reads.fmt

LONG_EMAIL = "r" * 245 + "@example.org"  # 257 characters


@pytest.fixture
def key(city):
    return ApiKey.issue("FixMyStreet")[1]


def pothole(key: str, **extra: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "pothole",
        "lat": "40.6782",
        "long": "-73.9442",
        "attribute[size]": "large",
        "email": "rosa@example.org",
        **extra,
    }


def raw_post(client, path: str, body: bytes, content_type: str):
    # The test client would encode the body itself; a real client sends these bytes.
    return client.generic("POST", path, body, content_type="x", CONTENT_TYPE=content_type)


class TestOpen311BadInput:
    def test_a_form_in_utf16_is_a_400_that_says_to_send_utf8(self, client, key, fmt):
        body = f"api_key={key}&service_code=pothole".encode("utf-16")
        r = raw_post(
            client,
            f"{BASE}/requests.{fmt}",
            body,
            "application/x-www-form-urlencoded; charset=utf-16",
        )
        assert "UTF-8" in error_descriptions(r, fmt, 400)

    def test_a_multipart_body_without_its_boundary_is_a_400(self, client, key, fmt):
        r = raw_post(client, f"{BASE}/requests.{fmt}", b"--x\r\n\r\n", "multipart/form-data")
        assert "boundary" in error_descriptions(r, fmt, 400)

    def test_a_json_body_is_a_400_that_says_to_send_a_form(self, client, key, fmt):
        r = raw_post(client, f"{BASE}/requests.{fmt}", b'{"api_key": "k"}', "application/json")
        text = error_descriptions(r, fmt, 400)
        assert "application/json" in text and "x-www-form-urlencoded" in text

    @pytest.mark.parametrize(
        "moment",
        ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "2026-02-30T00:00:00Z"],
    )
    def test_a_date_out_of_range_is_a_400_naming_the_parameter(self, client, city, fmt, moment):
        for name in ("start_date", "end_date", "updated_after", "updated_before"):
            r = client.get(f"{BASE}/requests.{fmt}", {name: moment})
            assert name in error_descriptions(r, fmt, 400)

    def test_an_email_of_257_characters_is_a_400_and_nothing_is_kept(self, client, key, fmt):
        r = client.post(f"{BASE}/requests.{fmt}", pothole(key, email=LONG_EMAIL))
        assert "at most 254 characters" in error_descriptions(r, fmt, 400)
        assert not ServiceRequest.objects.exists()

    @pytest.mark.parametrize(
        "field", ["first_name", "last_name", "address_string", "phone", "attribute[landmark]"]
    )
    def test_a_nul_character_is_a_400_naming_the_field(self, client, key, fmt, field):
        r = client.post(f"{BASE}/requests.{fmt}", pothole(key, **{field: "Ro\x00sa 12"}))
        text = error_descriptions(r, fmt, 400)
        assert f"{field}:" in text and "U+0000" in text
        assert not ServiceRequest.objects.exists()

    def test_an_over_long_address_id_is_a_400(self, client, key, fmt):
        r = client.post(
            f"{BASE}/requests.{fmt}", pothole(key, lat="", long="", address_id="x" * 61)
        )
        assert "address_id:" in error_descriptions(r, fmt, 400)


@pytest.mark.django_db(transaction=True)
class TestAfterCommit:
    """A side effect after commit that fails does not turn a saved request into an error."""

    def test_a_queue_that_cannot_be_reached_after_commit_still_answers_the_tracking_number(
        self, client, key, fmt, caplog
    ):
        down = ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        # As with the queue on Redis: the wake-up is pushed after commit, and Redis is down.
        stream = "city311.servicerequests.stream"
        with (
            mock.patch(f"{stream}._queue_in_this_database", return_value=False),
            mock.patch(f"{stream}.async_task", side_effect=down),
            caplog.at_level(logging.ERROR),
        ):
            r = client.post(f"{BASE}/requests.{fmt}", pothole(key))
        assert r.status_code == 200, r.content
        number = read(r, fmt)[0]["service_request_id"]
        assert ServiceRequest.objects.filter(tracking_number=number).exists()

    def test_following_when_the_queue_is_down_still_signs_the_resident_up(self, city):
        sr = city.report()
        down = ConnectionError("Connection refused")
        with mock.patch("city311.notifications.actions.async_task", side_effect=down):
            r = Client().post(f"/track/{sr.tracking_number}/follow", {"email": "lucia@example.org"})
        assert r.status_code == 302
        assert Follower.objects.filter(request=sr, email="lucia@example.org").exists()


class UnreadableBodyTests(BaseTestCase):
    """Any CSRF-protected form sent in UTF-16 is a 400 page, not Django's 500."""

    def post_utf16(self, client: Client, path: str):
        client.get("/track/")  # the CSRF cookie, as a browser has it
        token = client.cookies["csrftoken"].value
        body = f"csrfmiddlewaretoken={token}&number=1".encode("utf-16")
        return raw_post(client, path, body, "application/x-www-form-urlencoded; charset=utf-16")

    def test_a_resident_form_in_utf16_is_a_400_page_saying_so(self):
        sr = self.report()
        client = Client(enforce_csrf_checks=True)
        for path in ("/track/", f"/track/{sr.tracking_number}/follow", "/accounts/login/"):
            r = self.post_utf16(client, path)
            self.assertContains(r, "other than UTF-8", status_code=400)

    def test_a_staff_form_in_utf16_is_a_400_page(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.omar)
        r = self.post_utf16(client, "/console/new/pothole/")
        self.assertContains(r, "The form could not be read", status_code=400)


class TrackingNumberTests(BaseTestCase):
    def test_superscript_digits_are_answered_check_the_number(self):
        r = self.client.get("/track/", {"number": "¹²³-4567-890"})
        self.assertContains(r, "only digits", status_code=404)

    def test_fullwidth_digits_find_the_request(self):
        sr = self.report()
        fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in sr.tracking_number)
        r = self.client.get("/track/", {"number": fullwidth})
        self.assertRedirects(r, f"/track/{sr.tracking_number}")

    def test_a_superscript_page_number_is_the_first_page(self):
        self.assertEqual(self.client.get("/requests/", {"page": "²"}).status_code, 200)


class ConsoleFormTests(BaseTestCase):
    def setUp(self):
        self.sign_in(self.omar)

    def file(self, **fields: str):
        data = {
            "address_string": "1382 Dumont Ave",
            "lat": "40.6782",
            "long": "-73.9442",
            "attribute[size]": "large",
            "description": "Caller says it is deep",
            "file_anyway": "1",
            **fields,
        }
        return self.client.post("/console/new/pothole/", data)

    def test_an_email_of_257_characters_is_refused_on_the_form(self):
        r = self.file(email=LONG_EMAIL)
        self.assertContains(r, "at most 254 characters", status_code=400)
        self.assertFalse(ServiceRequest.objects.exists())

    def test_a_nul_character_in_any_field_is_refused_on_the_form(self):
        for field in ("first_name", "description", "address_string", "attribute[landmark]"):
            with self.subTest(field=field):
                r = self.file(**{field: "Rosa\x00 Diaz"}, email="rosa@example.org")
                self.assertContains(r, "U+0000", status_code=400)
        self.assertFalse(Contact.objects.exists())

    def test_following_instead_with_an_email_of_257_characters_is_refused(self):
        sr = self.report()
        r = self.client.post(f"/console/follow/{sr.tracking_number}/", {"email": LONG_EMAIL})
        self.assertEqual(r.status_code, 302)
        self.assertFalse(Follower.objects.filter(email=LONG_EMAIL).exists())


class StaffNoteTests(BaseTestCase):
    def setUp(self):
        self.sr = self.report()
        self.sign_in(self.dana)

    def act(self, action: str, **data: str):
        return self.client.post(
            f"/work/requests/{self.sr.tracking_number}/{action}", data, follow=True
        )

    def test_a_megabyte_public_note_is_refused_whatever_the_action(self):
        huge = "x" * 1_000_000
        for action, data in [
            ("start", {"note": huge}),
            ("note", {"text": huge, "public": "on"}),
            ("transfer", {"department": str(self.parks.pk), "reason": huge}),
        ]:
            with self.subTest(action=action):
                r = self.act(action, **data)
                self.assertEqual(r.status_code, 200)
        self.assertFalse(RequestEvent.objects.filter(note__startswith="xxxx").exists())
        self.sr.refresh_from_db()
        self.assertEqual(self.sr.status, Status.OPEN)
        self.assertEqual(self.sr.department, self.streets)

    def test_the_start_note_says_how_long_it_may_be(self):
        r = self.act("start", note="x" * 4001)
        self.assertContains(r, "at most 4,000 characters")

    def test_a_nul_character_in_a_reopen_reason_is_refused(self):
        self.act("close", resolution="completed", note="Filled")
        r = self.act("reopen", reason="Still\x00 there")
        self.assertContains(r, "U+0000")
        self.sr.refresh_from_db()
        self.assertEqual(self.sr.status, Status.CLOSED)


class SmsWebhookTests(BaseTestCase):
    def setUp(self):
        self.sr = self.report(email="", phone="718-555-0199")
        dispatch_events()  # what the worker does after the commit: Rosa follows by text

    def stopped(self) -> bool:
        return Follower.objects.get(request=self.sr).sms_stopped_at is not None

    def test_without_a_token_a_stop_is_refused_and_logged_without_the_number(self):
        self.assertEqual(settings.TWILIO_AUTH_TOKEN, "")
        with self.assertLogs("city311.notifications.views", "WARNING") as logged:
            r = self.client.post(
                "/notifications/sms/twilio", {"From": "+17185550199", "Body": "STOP"}
            )
        self.assertContains(r, "TWILIO_AUTH_TOKEN", status_code=403)
        self.assertFalse(self.stopped())
        self.assertNotIn("7185550199", " ".join(logged.output))

    @override_settings(TWILIO_AUTH_TOKEN="the-citys-token")
    def test_a_forged_signature_is_refused_and_logged_without_the_number(self):
        with self.assertLogs("city311.notifications.views", "WARNING") as logged:
            r = self.client.post(
                "/notifications/sms/twilio",
                {"From": "+17185550199", "Body": "STOP"},
                HTTP_X_TWILIO_SIGNATURE="Zm9yZ2Vk",
            )
        self.assertEqual(r.status_code, 403)
        self.assertFalse(self.stopped())
        self.assertNotIn("7185550199", " ".join(logged.output))

    def test_a_text_twilio_signed_is_acted_on(self):
        r = text_the_city(self.client, From="+17185550199", Body="STOP")
        self.assertEqual(r.status_code, 200)
        self.assertTrue(self.stopped())
