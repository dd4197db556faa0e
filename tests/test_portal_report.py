"""Rosa reports a problem on the portal, step by step, with JavaScript off (plain forms)."""

from __future__ import annotations

import gzip
import io
import os
import re
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from city311.catalog.actions import set_translations
from city311.cities import profile
from city311.notifications.models import Follower
from city311.open311.models import ApiKey
from city311.portal import drafts
from city311.servicerequests import attachments
from city311.servicerequests.models import Channel, ServiceRequest
from city311.test import BaseTestCase, any_city, referral
from tests import small_city

ROSA = {
    "first_name": "Rosa",
    "last_name": "Diaz",
    "email": "rosa@example.org",
    "phone": "718-555-0199",
    "wants_updates": "on",
}
# 40°40'12" N, 73°55'48" W: on Dumont Avenue in the small city, near number 1348.
PHOTO_GPS = {1: "N", 2: (40.0, 40.0, 12.0), 3: "W", 4: (73.0, 55.0, 48.0)}


def jpeg(gps: dict | None = None, size: tuple[int, int] = (40, 30)) -> bytes:
    """A real JPEG from a phone: maker, model and, when given, where it was taken."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Model X"
    if gps:
        exif[0x8825] = gps
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "JPEG", exif=exif)
    return out.getvalue()


def photo_upload(content: bytes, name: str = "IMG_0001.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


class ReportTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _city(self, tmp_path, settings):
        small_city.load(tmp_path)
        settings.MEDIA_ROOT = str(tmp_path / "media")
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        cache.clear()

    def step(self, name: str, code: str = "pothole") -> str:
        return f"/report/{code}/{name}/"

    def start(self, code: str = "pothole"):
        return self.client.get(f"/report/{code}/", follow=True)

    def give_address(self, address: str = "1382 Dumont Ave", code: str = "pothole"):
        return self.client.post(self.step("location", code), {"address": address}, follow=True)

    def answer_questions(self, **answers):
        return self.client.post(self.step("questions"), {"q_size": "large", **answers}, follow=True)

    def describe(self, text: str = "Deep hole by the curb", code: str = "pothole"):
        return self.client.post(self.step("description", code), {"description": text}, follow=True)

    def add_photo(self, upload, code: str = "pothole"):
        return self.client.post(
            self.step("photos", code), {"action": "add", "photo": upload}, follow=True
        )

    def finish_photos(self, code: str = "pothole"):
        return self.client.post(self.step("photos", code), {"action": "continue"}, follow=True)

    def give_contact(self, code: str = "pothole", **fields):
        return self.client.post(self.step("contact", code), {**ROSA, **fields}, follow=True)

    def token(self, code: str = "pothole") -> str:
        page = self.client.get(self.step("review", code)).content.decode()
        found = re.search(r'name="token" value="([^"]+)"', page)
        assert found, page
        return found.group(1)

    def send(self, code: str = "pothole", **extra):
        data = {"token": self.token(code), "website": "", **extra}
        return self.client.post(self.step("review", code), data, follow=True)

    def report_pothole(self, **contact):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        self.give_contact(**contact)
        return self.send()


class WholeFlowTests(ReportTestCase):
    def test_it_files_a_pothole_with_a_photo_and_shows_the_tracking_number(self):
        self.assertContains(self.start(), "Where is it?")
        r = self.give_address()
        self.assertContains(r, "How big is it?")
        r = self.answer_questions(q_depth_cm="12")
        self.assertContains(r, "Describe the problem")
        r = self.describe()
        self.assertContains(r, "Add photos")
        r = self.add_photo(photo_upload(jpeg(PHOTO_GPS)))
        self.assertContains(r, "Your photo was taken at")
        self.assertContains(r, "1348 Dumont Avenue", msg_prefix="the photo's place is offered")
        r = self.finish_photos()
        self.assertContains(r, "How can we reach you?")
        r = self.give_contact()
        self.assertContains(r, "Check your report")
        self.assertContains(r, "Deep hole by the curb")
        r = self.send()
        sr = ServiceRequest.objects.get()
        self.assertContains(r, sr.tracking_number)
        self.assertContains(r, "Write it down")
        self.assertContains(r, "Streets")
        self.assertContains(r, f"/track/{sr.tracking_number}")
        self.assertEqual(sr.channel, Channel.WEB)
        self.assertEqual(sr.answers, {"size": "large", "depth_cm": "12"})
        self.assertEqual(sr.address_id, "dumont-1382")
        self.assertEqual(sr.contact.email, "rosa@example.org")

    def test_the_stored_photo_has_no_exif_left(self):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.add_photo(photo_upload(jpeg(PHOTO_GPS)))
        self.finish_photos()
        self.give_contact()
        self.send()
        attachment = ServiceRequest.objects.get().attachments.get()
        with attachment.file.open("rb") as f:
            stored = Image.open(io.BytesIO(f.read()))
            self.assertEqual(stored.format, "JPEG")
            self.assertEqual(dict(stored.getexif()), {})
        self.assertNotIn(b"PhoneMaker", attachment.file.open("rb").read())
        self.assertNotIn("IMG_0001", attachment.file.name)

    def test_the_photo_place_can_replace_the_pin(self):
        self.start()
        self.give_address("520 Van Siclen Ave")
        self.answer_questions()
        self.describe()
        self.add_photo(photo_upload(jpeg(PHOTO_GPS)))
        r = self.client.post(self.step("photos"), {"action": "use-photo-place"}, follow=True)
        self.assertNotContains(r, "Your photo was taken at")
        self.finish_photos()
        self.give_contact()
        self.send()
        sr = ServiceRequest.objects.get()
        self.assertAlmostEqual(sr.lat, 40.67, places=3)
        self.assertAlmostEqual(sr.long, -73.93, places=3)

    def test_the_confirmation_shows_no_personal_data(self):
        r = self.report_pothole()
        for private in ("rosa@example.org", "Diaz", "555-0199", "7185550199"):
            self.assertNotContains(r, private)

    def test_another_browser_gets_the_public_page_not_the_confirmation(self):
        self.report_pothole()
        sr = ServiceRequest.objects.get()
        self.client.logout()
        r = self.client.get(f"/report/done/{sr.tracking_number}/")
        self.assertRedirects(r, f"/track/{sr.tracking_number}", fetch_redirect_response=False)

    def test_a_change_link_returns_to_the_review(self):
        self.report_pothole_until_review()
        r = self.client.get(self.step("description") + "?change=1")
        self.assertContains(r, 'name="change"')
        r = self.client.post(
            self.step("description"), {"description": "Two holes", "change": "1"}, follow=True
        )
        self.assertContains(r, "Check your report")
        self.assertContains(r, "Two holes")

    def report_pothole_until_review(self):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        self.give_contact()

    def test_a_double_click_files_once(self):
        self.report_pothole_until_review()
        token = self.token()
        first = self.client.post(self.step("review"), {"token": token, "website": ""})
        second = self.client.post(self.step("review"), {"token": token, "website": ""})
        self.assertEqual(ServiceRequest.objects.count(), 1)
        number = ServiceRequest.objects.get().tracking_number
        self.assertRedirects(first, f"/report/done/{number}/", fetch_redirect_response=False)
        # The draft is gone after filing: the second click starts the type again, filing nothing.
        self.assertEqual(second.status_code, 302)

    def test_a_resend_of_the_same_token_finds_the_first_filing(self):
        self.report_pothole_until_review()
        token = self.token()
        session = self.client.session
        draft = dict(session["portal_report"])
        self.client.post(self.step("review"), {"token": token, "website": ""})
        # The same draft sent again (a refresh from another tab that still held it).
        session = self.client.session
        session["portal_report"] = draft
        session.save()
        r = self.client.post(self.step("review"), {"token": token, "website": ""})
        number = ServiceRequest.objects.get().tracking_number
        self.assertRedirects(r, f"/report/done/{number}/", fetch_redirect_response=False)


class ChoosingTheTypeTests(ReportTestCase):
    def test_a_search_suggests_types(self):
        r = self.client.get("/report/", {"q": "pothole in the road"})
        self.assertContains(r, "/report/pothole/")

    def test_emergency_words_say_call_911(self):
        r = self.client.get("/report/", {"q": "fire"})
        self.assertContains(r, "This sounds like an emergency. Call 911 now")

    def test_no_match_says_so_and_offers_the_groups_and_the_phone(self):
        r = self.client.get("/report/", {"q": "zzzqqq"})
        self.assertContains(r, "We found no service for")
        self.assertContains(r, "/report/permit_question/")
        self.assertContains(r, 'href="tel:311"')

    def test_an_urgent_type_stops_and_says_call_311_now(self):
        r = self.client.get("/report/fallen_tree/")
        self.assertContains(r, "Call 311 now")
        self.assertContains(r, 'href="tel:311"')
        self.assertNotIn("portal_report", self.client.session)
        r = self.client.get(self.step("location", "fallen_tree"))
        self.assertRedirects(r, "/report/fallen_tree/")

    def test_an_emergency_type_says_call_911(self):
        r = self.client.get("/report/fire/")
        self.assertContains(r, "Call 911 now")
        self.assertContains(r, 'href="tel:911"')

    def test_a_type_with_a_referral_shows_it(self):
        self.pothole.referral = "Potholes on highways: call the State."
        self.pothole.save()
        self.assertContains(self.start(), "Potholes on highways: call the State.")


@any_city
class LocationTests(ReportTestCase):
    def test_a_point_outside_the_city_gets_the_referral(self):
        self.start()
        lat, long = small_city.OUTSIDE
        r = self.client.post(self.step("location"), {"address": "", "lat": lat, "long": long})
        self.assertContains(r, referral())
        self.assertContains(r, "data-error-summary")

    def test_an_unknown_address_says_what_to_do(self):
        self.start()
        r = self.give_address("99999 Nowhere Boulevard")
        self.assertContains(r, "We could not find")

    def test_an_ambiguous_address_offers_candidates(self):
        self.start()
        r = self.give_address("Dumont Avenue")
        self.assertContains(r, "Which address did you mean?")
        self.assertContains(r, 'type="radio" name="candidate"')
        r = self.client.post(
            self.step("location"), {"address": "Dumont Avenue", "candidate": "0"}, follow=True
        )
        self.assertContains(r, "How big is it?")
        self.assertTrue(self.client.session["portal_report"]["location"]["lat"])

    def test_a_new_address_instead_of_a_candidate_is_looked_up(self):
        self.start()
        self.give_address("Dumont Avenue")
        r = self.give_address("1382 Dumont Ave")
        self.assertContains(r, "How big is it?")
        self.assertEqual(
            self.client.session["portal_report"]["location"]["address_id"], "dumont-1382"
        )

    def test_a_pin_on_the_map_is_a_place(self):
        self.start()
        r = self.client.post(
            self.step("location"),
            {"address": "", "lat": "40.6701", "long": str(small_city.dumont_long(1382))},
            follow=True,
        )
        self.assertContains(r, "How big is it?")
        self.assertIn("1382", self.client.session["portal_report"]["location"]["address"])

    def test_a_type_without_a_place_skips_the_location(self):
        r = self.start("permit_question")
        self.assertContains(r, "Describe the problem")

    def test_the_location_page_loads_the_map_only_there(self):
        r = self.start()
        self.assertContains(r, "vendor/leaflet/leaflet.js")
        self.assertContains(r, "/api/city-limits.geojson")
        self.give_address()
        self.assertNotContains(self.client.get(self.step("questions")), "leaflet.js")


class NearbyTests(ReportTestCase):
    def setUp(self):
        super().setUp()
        self.open_one = self.report(lat=40.67, long=small_city.dumont_long(1382), address_string="")

    def test_a_nearby_open_request_is_offered(self):
        self.start()
        r = self.give_address()
        self.assertContains(r, "Is it one of these?")
        self.assertContains(r, self.open_one.tracking_number)
        self.assertNotContains(r, "rosa@example.org")
        self.assertNotContains(r, "Diaz")

    def test_following_it_instead_files_nothing(self):
        self.start()
        self.give_address()
        r = self.client.post(
            self.step("nearby"),
            {"tracking_number": self.open_one.tracking_number, "email": "ann@example.org"},
            follow=True,
        )
        self.assertContains(r, "You are following the request")
        self.assertEqual(ServiceRequest.objects.count(), 1)
        follower = Follower.objects.get(email="ann@example.org")
        self.assertEqual(follower.request, self.open_one)
        self.assertIsNone(follower.confirmed_at)

    def test_following_needs_an_email_or_phone(self):
        self.start()
        self.give_address()
        r = self.client.post(
            self.step("nearby"), {"tracking_number": self.open_one.tracking_number}
        )
        self.assertContains(r, "Give an e-mail address or a phone number to follow it.")

    def test_mine_is_different_continues(self):
        self.start()
        self.give_address()
        r = self.client.post(self.step("nearby"), {"action": "continue"}, follow=True)
        self.assertContains(r, "How big is it?")


class QuestionTests(ReportTestCase):
    def test_every_datatype_is_asked_and_answered(self):
        self.start()
        r = self.give_address()
        for html in (
            'type="radio" name="q_size"',
            'type="checkbox" name="q_lanes"',
            'name="q_depth_cm"',
            'type="datetime-local" name="q_seen_at"',
            'name="q_landmark"',
            '<textarea name="q_details"',
        ):
            self.assertContains(r, html)
        self.answer_questions(
            q_lanes=["left", "right"],
            q_depth_cm="7.5",
            q_seen_at="2026-11-22T14:30",
            q_landmark="By the bus stop",
            q_details="It fills with water.",
        )
        self.describe()
        self.finish_photos()
        self.give_contact()
        self.send()
        answers = ServiceRequest.objects.get().answers
        self.assertEqual(answers["lanes"], ["left", "right"])
        self.assertEqual(answers["depth_cm"], "7.5")
        self.assertTrue(answers["seen_at"].startswith("2026-11-22T14:30:00"))
        self.assertEqual(answers["landmark"], "By the bus stop")

    def test_wrong_answers_are_shown_by_field(self):
        self.start()
        self.give_address()
        r = self.client.post(
            self.step("questions"), {"q_depth_cm": "deep", "q_seen_at": "yesterday"}
        )
        self.assertContains(r, 'id="q_size-error"')
        self.assertContains(r, 'id="q_depth_cm-error"')
        self.assertContains(r, "Enter a number using digits")
        self.assertContains(r, 'id="q_seen_at-error"')
        self.assertContains(r, 'href="#id_q_size_0"')
        self.assertContains(r, 'aria-describedby="q_depth_cm-error"')
        # The summary's message says which question is missing, not only "required".
        self.assertContains(r, "Answer this question: How big is it?")


class ContactTests(ReportTestCase):
    def test_a_type_that_needs_contact_asks_for_it(self):
        self.start("permit_question")
        self.describe("When do I need a permit?", code="permit_question")
        self.finish_photos("permit_question")
        r = self.client.post(self.step("contact", "permit_question"), {"first_name": "Rosa"})
        self.assertContains(r, "This service needs a way to reach you")
        r = self.give_contact("permit_question", email="", phone="718 555 0199")
        self.assertContains(r, "Check your report")
        self.send("permit_question")
        self.assertEqual(ServiceRequest.objects.get().contact.phone, "+17185550199")

    def test_contact_is_optional_otherwise(self):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        r = self.client.post(self.step("contact"), {}, follow=True)
        self.assertContains(r, "Anonymous: no updates")
        self.send()
        self.assertFalse(hasattr(ServiceRequest.objects.get(), "contact"))

    def test_a_wrong_email_is_shown(self):
        self.start()
        r = self.client.post(self.step("contact"), {"email": "rosa at home"})
        self.assertContains(r, 'id="email-error"')


class PhotoTests(ReportTestCase):
    def test_a_file_that_is_not_a_photo_is_refused(self):
        self.start()
        fake = SimpleUploadedFile("x.jpg", b"#!/bin/sh\necho hi\n", content_type="image/jpeg")
        r = self.add_photo(fake)
        self.assertContains(r, "The file is not a photo we can take")

    def test_a_photo_too_large_is_refused(self):
        self.start()
        with self.settings(CITY311_MEDIA_MAX_BYTES=2000):
            r = self.add_photo(photo_upload(jpeg(size=(400, 400)) + b"\x00" * 3000))
        self.assertContains(r, "The photo is too large")

    def test_at_most_three_photos(self):
        self.start()
        for _ in range(3):
            self.add_photo(photo_upload(jpeg()))
        r = self.client.get(self.step("photos"))
        self.assertContains(r, "the most one report can take")
        self.assertNotContains(r, 'type="file"')

    def test_a_draft_photo_is_shown_only_to_its_browser(self):
        self.start()
        self.add_photo(photo_upload(jpeg(PHOTO_GPS)))
        r = self.client.get("/report/pothole/photo/0")
        self.assertEqual(r.status_code, 200)
        self.assertNotIn(b"PhoneMaker", b"".join(r.streaming_content))
        self.client.logout()
        self.assertEqual(self.client.get("/report/pothole/photo/0").status_code, 404)

    def test_a_removed_photo_is_gone(self):
        self.start()
        self.add_photo(photo_upload(jpeg()))
        r = self.client.post(self.step("photos"), {"action": "remove-0"}, follow=True)
        self.assertNotContains(r, "Remove photo 1")


class SafetyTests(ReportTestCase):
    def test_a_robot_filling_the_honeypot_files_nothing(self):
        self.report_pothole_until_review()
        r = self.send(website="http://spam.example")
        self.assertContains(r, "Your report was sent")
        self.assertFalse(ServiceRequest.objects.exists())

    def report_pothole_until_review(self, **contact):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        self.give_contact(**contact)

    def test_too_many_reports_from_one_address_are_refused(self):
        with self.settings(CITY311_PORTAL_REPORTS_PER_IP=1):
            self.report_pothole_until_review()
            self.send()
            self.report_pothole_until_review(email="other@example.org", phone="")
            r = self.client.post(self.step("review"), {"token": self.token(), "website": ""})
        self.assertEqual(r.status_code, 429)
        self.assertContains(r, "try again after", status_code=429)
        self.assertIn("Retry-After", r.headers)
        self.assertEqual(ServiceRequest.objects.count(), 1)

    def test_too_many_reports_from_one_email_are_refused(self):
        with self.settings(CITY311_PORTAL_REPORTS_PER_CONTACT=1):
            self.report_pothole_until_review()
            self.send()
            self.client.logout()
            self.report_pothole_until_review()
            r = self.client.post(
                self.step("review"),
                {"token": self.token(), "website": ""},
                REMOTE_ADDR="10.0.0.9",
            )
        self.assertEqual(r.status_code, 429)

    def test_every_form_needs_the_csrf_token(self):
        from django.test import Client

        strict = Client(enforce_csrf_checks=True)
        strict.get("/report/pothole/")
        r = strict.post(self.step("location"), {"address": "1382 Dumont Ave"})
        self.assertEqual(r.status_code, 403)

    def test_user_text_is_escaped(self):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe("<script>alert(1)</script>")
        r = self.client.get(self.step("review"))
        self.assertNotContains(r, "<script>alert(1)</script>")
        self.assertContains(r, "&lt;script&gt;")


@any_city
class SpanishTests(ReportTestCase):
    def setUp(self):
        super().setUp()
        self.client.cookies["django_language"] = "es"

    def test_the_steps_speak_spanish(self):
        r = self.start()
        self.assertContains(r, "¿Dónde está?")
        self.assertContains(r, "Paso 1 de")
        r = self.client.post(self.step("location"), {"address": ""})
        self.assertContains(r, "Escriba una dirección o un lugar")

    def test_a_place_outside_the_city_gets_the_referral_in_spanish(self):
        self.start()
        lat, long = small_city.OUTSIDE
        r = self.client.post(self.step("location"), {"address": "", "lat": lat, "long": long})
        self.assertContains(r, referral("es"))

    def test_an_urgent_type_says_call_now_in_spanish(self):
        r = self.client.get("/report/fallen_tree/")
        self.assertContains(r, f"Llame al {profile.current().phone} ahora")

    def test_the_request_is_filed_in_spanish(self):
        set_translations(self.pothole, "es", {"service_name": "Bache"})
        self.assertContains(self.start(), "Bache")
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        self.give_contact()
        r = self.send()
        self.assertContains(r, "Anótelo")
        self.assertEqual(ServiceRequest.objects.get().contact.language, "es")


class EveryChannelTests(ReportTestCase):
    def test_an_open311_photo_is_stored_without_exif(self):
        key = ApiKey.issue("FixMyStreet")[1]
        data = {
            "api_key": key,
            "service_code": "pothole",
            "lat": "40.67",
            "long": "-73.93",
            "attribute[size]": "large",
            "media": photo_upload(jpeg(PHOTO_GPS)),
        }
        r = self.client.post("/open311/v2/requests.json", data)
        self.assertEqual(r.status_code, 200, r.content)
        attachment = ServiceRequest.objects.get().attachments.get()
        stored = attachment.file.open("rb").read()
        self.assertNotIn(b"PhoneMaker", stored)
        self.assertEqual(dict(Image.open(io.BytesIO(stored)).getexif()), {})

    def test_a_photo_taken_sideways_is_turned_upright(self):
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90° clockwise to show
        out = io.BytesIO()
        Image.new("RGB", (60, 20), "blue").save(out, "JPEG", exif=exif)
        clean = attachments.clean_photo(photo_upload(out.getvalue()))
        upright = Image.open(io.BytesIO(clean.content))
        self.assertEqual(upright.size, (20, 60))
        self.assertNotIn(0x0112, upright.getexif())


class LimitsOfTheFlowTests(ReportTestCase):
    def test_the_heaviest_step_stays_under_150_kb_of_css_and_js_compressed(self):
        page = self.start().content.decode()
        total = 0
        for path in re.findall(r'(?:href|src)="/static/([^"]+\.(?:css|js))"', page):
            found = finders.find(path)
            self.assertIsNotNone(found, path)
            total += len(gzip.compress(Path(found).read_bytes(), 9))
        self.assertIn("leaflet.js", page)
        self.assertLess(total, 150_000)

    def test_a_report_sent_without_its_place_goes_back_to_the_location_step(self):
        self.start()
        self.answer_questions()
        r = self.send()
        self.assertRedirects(r, self.step("location"))
        self.assertContains(r, "Tell us where the problem is: an address, or a place on the map.")
        self.assertFalse(ServiceRequest.objects.exists())

    def test_abandoned_draft_photos_are_swept(self):
        self.start()
        self.add_photo(photo_upload(jpeg()))
        stored = next((Path(settings.MEDIA_ROOT) / "drafts").iterdir())
        self.assertEqual(drafts.sweep(), 0)
        day_ago = time.time() - drafts.PHOTO_MAX_AGE_S - 60
        os.utime(stored, (day_ago, day_ago))
        self.assertEqual(drafts.sweep(), 1)
        self.assertFalse(stored.exists())

    def test_a_filed_draft_leaves_no_photo_behind(self):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.add_photo(photo_upload(jpeg()))
        self.finish_photos()
        self.give_contact()
        self.send()
        self.assertEqual(list((Path(settings.MEDIA_ROOT) / "drafts").iterdir()), [])


class ConfirmationTests(ReportTestCase):
    def test_it_promises_e_mail_only_to_those_who_asked_for_updates(self):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        self.give_contact(wants_updates="")
        r = self.send()
        self.assertContains(r, "Write it down")
        self.assertNotContains(r, "We will e-mail you")

    def test_it_promises_e_mail_to_those_who_asked(self):
        self.assertContains(self.report_pothole(), "We will e-mail you when its status changes.")
