"""The public side of the portal: a request's page, following it, saying it is not fixed,
and the list and map of recent requests. Nothing on them identifies a resident or staff member."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from PIL import Image

from city311.cities import profile
from city311.notifications.models import Delivery, Follower
from city311.notifications.tasks import send_due_deliveries
from city311.servicerequests import actions
from city311.servicerequests.models import Attachment, RequestEvent, ServiceRequest, Status
from city311.servicerequests.tasks import dispatch_events
from city311.servicerequests.tracking import check_digit
from city311.test import BaseTestCase
from tests import small_city

LOCMEM_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PRIVATE = ("Rosa", "Diaz", "rosa@example.org", "718-555-0199", "7185550199", "Dana", "Tester")


def jpeg() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    out.seek(0)
    out.name = "street.jpg"
    return out


@override_settings(
    CACHES=LOCMEM_CACHE,
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    CITY311_SMS_PROVIDER="file",
)
class PortalTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _small_city(self, tmp_path, settings):
        settings.MEDIA_ROOT = str(tmp_path / "media")
        settings.CITY311_SMS_FILE_PATH = str(tmp_path / "sms")
        small_city.load(tmp_path)

    def setUp(self):
        from django.core.cache import cache

        cache.clear()
        mail.outbox = []

    def page(self, sr: ServiceRequest, **headers):
        return self.client.get(f"/track/{sr.tracking_number}", **headers)

    def closed(self, **fields) -> ServiceRequest:
        sr = self.report(**fields)
        actions.close_request(sr, resolution="completed", note="Filled the hole.", by=self.dana)
        return ServiceRequest.objects.get(pk=sr.pk)


class RequestPageTests(PortalTestCase):
    def test_it_shows_the_type_place_status_and_expected_date_in_the_citys_time_zone(self):
        sr = self.report()
        r = self.page(sr)
        self.assertContains(r, "<h1>Pothole</h1>", html=True)
        self.assertContains(r, "1382 Dumont Ave, Brooklyn")
        self.assertContains(r, "Open: a city team has it")
        due = timezone.localtime(sr.due_at, profile.zone())
        self.assertContains(r, f'datetime="{due.isoformat()}"')
        self.assertContains(r, 'data-lat="40.678200"')
        self.assertContains(r, "/api/city-limits.geojson")

    def test_it_never_shows_the_reporters_details_the_description_or_staff_names(self):
        sr = self.report()
        actions.add_note(sr, text="Call Rosa back", public=False, by=self.dana)
        actions.start_request(sr, by=self.dana, note="Crew on site")
        r = self.page(sr)
        self.assertContains(r, "Crew on site")
        self.assertContains(r, "(Streets)")
        for private in (*PRIVATE, "Call Rosa back", "Deep hole by the curb"):
            self.assertNotContains(r, private)

    def test_it_shows_the_history_in_spanish(self):
        sr = self.report()
        self.client.cookies["django_language"] = "es"
        r = self.page(sr)
        self.assertContains(r, "Recibida")
        self.assertContains(r, "Lo que ha pasado")
        self.assertContains(r, "Abierta")

    def test_it_shows_photos_with_alt_text(self):
        sr = self.report()
        photo = Attachment.objects.create(request=sr, content_type="image/jpeg", size=3)
        photo.file.save("x.jpg", io.BytesIO(b"\xff\xd8\xff"), save=True)
        r = self.page(sr)
        self.assertContains(r, f'src="/open311/v2/media/{photo.pk}"')
        self.assertContains(r, 'alt="Photo 1 sent with this request"')

    def test_it_says_what_was_done_when_closed(self):
        sr = self.closed()
        r = self.page(sr)
        self.assertContains(r, "Closed: the work is done")
        self.assertContains(r, "Filled the hole.")

    def test_a_request_closed_without_a_resolution_says_closed(self):
        sr = self.closed()
        ServiceRequest.objects.filter(pk=sr.pk).update(resolution="")
        self.assertContains(self.page(sr), "Closed")
        self.assertContains(self.client.get("/requests/"), sr.tracking_number)

    def test_a_duplicate_links_to_the_request_being_worked(self):
        parent = self.report()
        sr = self.report(address_string="1384 Dumont Ave, Brooklyn")
        actions.close_request(
            sr, resolution="duplicate", note="Same hole.", by=self.dana, duplicate_of=parent
        )
        r = self.page(sr)
        self.assertContains(r, f'href="/track/{parent.tracking_number}"')

    def test_a_typo_is_caught_by_the_check_digit_in_english_and_spanish(self):
        sr = self.report()
        digits = sr.tracking_number.replace("-", "")
        typo = digits[:-1] + str((int(digits[-1]) + 1) % 10)
        r = self.client.get("/track/", {"number": typo})
        self.assertContains(r, "a digit may be wrong. Check the number.", status_code=404)
        self.client.cookies["django_language"] = "es"
        r = self.client.get("/track/", {"number": typo})
        self.assertContains(r, "puede haber un dígito equivocado", status_code=404)

    def test_a_number_that_is_well_formed_but_unused_is_answered_in_spanish(self):
        self.client.cookies["django_language"] = "es"
        r = self.client.get("/track/", {"number": "123456789" + check_digit("123456789")})
        self.assertEqual(r.status_code, 404)
        self.assertContains(r, "Revise", status_code=404)


class LanguageTests(PortalTestCase):
    def test_the_language_choice_is_remembered_on_the_public_pages(self):
        sr = self.report()
        r = self.client.post(
            "/i18n/setlang/", {"language": "es", "next": f"/track/{sr.tracking_number}"}
        )
        self.assertRedirects(r, f"/track/{sr.tracking_number}", fetch_redirect_response=False)
        self.assertContains(self.page(sr), "Seguir esta solicitud")
        self.assertContains(self.client.get("/requests/"), "Solicitudes recientes")
        self.assertContains(self.client.get("/"), 'lang="es"')


class FollowTests(PortalTestCase):
    def follow(self, sr, **data):
        return self.client.post(f"/track/{sr.tracking_number}/follow", data)

    def test_a_follower_is_sent_a_confirmation_first(self):
        sr = self.report()
        r = self.follow(sr, email="lucia@example.org")
        self.assertRedirects(r, f"/track/{sr.tracking_number}", fetch_redirect_response=False)
        send_due_deliveries()
        [message] = [m for m in mail.outbox if "lucia@example.org" in m.to]
        self.assertIn("Confirm", message.subject)
        follower = Follower.objects.get(email="lucia@example.org")
        self.assertIsNone(follower.confirmed_at)
        self.assertContains(self.page(sr), "Check your messages")

    def test_a_spanish_page_signs_up_a_spanish_follower(self):
        sr = self.report()
        self.client.cookies["django_language"] = "es"
        self.follow(sr, phone="212 555 0134")
        self.assertEqual(Follower.objects.get(phone="+12125550134").language, "es")

    def test_it_asks_for_an_address_and_links_the_error_to_the_field(self):
        sr = self.report()
        r = self.follow(sr, email="", phone="")
        self.assertContains(r, 'href="#follow-email"', status_code=400)
        self.assertContains(r, 'aria-invalid="true"', status_code=400)
        self.assertFalse(Follower.objects.filter(request=sr, role="follower").exists())

    def test_it_refuses_a_phone_that_cannot_get_texts(self):
        sr = self.report()
        r = self.follow(sr, phone="1-800-555-0199")
        self.assertContains(r, "cannot receive text messages", status_code=400)

    def test_it_asks_for_the_area_code_of_a_number_without_one(self):
        sr = self.report()
        r = self.follow(sr, phone="555-0134")
        self.assertContains(r, "with its area code", status_code=400)

    def test_a_bot_filling_the_honeypot_is_thanked_and_ignored(self):
        sr = self.report()
        r = self.follow(sr, email="bot@example.org", website="http://spam.example")
        self.assertEqual(r.status_code, 302)
        self.assertFalse(Follower.objects.filter(email="bot@example.org").exists())

    @override_settings(CITY311_PORTAL_FOLLOWS_PER_IP=2)
    def test_too_many_attempts_from_one_address_are_refused_with_429(self):
        sr = self.report()
        for n in range(2):
            self.assertEqual(self.follow(sr, email=f"n{n}@example.org").status_code, 302)
        r = self.follow(sr, email="n3@example.org")
        self.assertContains(r, "Too many attempts", status_code=429)
        self.assertFalse(Follower.objects.filter(email="n3@example.org").exists())

    def test_a_closed_request_offers_no_following(self):
        sr = self.closed()
        self.assertNotContains(self.page(sr), "Follow this request")


class ReopenTests(PortalTestCase):
    def reopen(self, sr, **data):
        return self.client.post(f"/track/{sr.tracking_number}/reopen", data)

    def test_within_the_window_a_comment_and_photo_reopen_it_and_the_department_is_told(self):
        self.streets.email = "streets@city.example"
        self.streets.save(update_fields=["email"])
        sr = self.closed()
        r = self.reopen(sr, comment="Still a hole, call me on 718-555-0100", photo=jpeg())
        self.assertEqual(r.status_code, 302)
        sr.refresh_from_db()
        self.assertEqual(sr.status, Status.OPEN)
        self.assertEqual(sr.attachments.count(), 1)
        event = RequestEvent.objects.get(request=sr, kind="request.reopened")
        self.assertIsNone(event.actor_id)
        dispatch_events()  # what the worker does after the commit
        self.assertTrue(Delivery.objects.filter(request=sr, kind="department.reopened").exists())
        page = self.page(sr)
        self.assertContains(page, "A resident said the problem is not fixed.")
        self.assertNotContains(page, "718-555-0100")

    def test_a_comment_is_required(self):
        sr = self.closed()
        r = self.reopen(sr, comment=" ")
        self.assertContains(r, 'href="#reopen-comment"', status_code=400)
        sr.refresh_from_db()
        self.assertTrue(sr.is_closed)

    def test_a_file_that_is_not_a_photo_is_refused(self):
        sr = self.closed()
        fake = io.BytesIO(b"MZ not an image")
        fake.name = "x.jpg"
        r = self.reopen(sr, comment="Still there", photo=fake)
        self.assertContains(r, "JPEG, PNG, GIF or WebP", status_code=400)

    def test_after_the_window_it_says_to_report_again_or_call(self):
        sr = self.closed()
        ServiceRequest.objects.filter(pk=sr.pk).update(
            closed_at=timezone.now() - timedelta(days=31)
        )
        page = self.page(sr)
        self.assertContains(page, "cannot be reopened online")
        self.assertContains(page, 'href="/report/pothole/"')
        r = self.reopen(sr, comment="Still there")
        self.assertEqual(r.status_code, 409)
        sr.refresh_from_db()
        self.assertTrue(sr.is_closed)

    def test_a_bot_filling_the_honeypot_reopens_nothing(self):
        sr = self.closed()
        self.reopen(sr, comment="spam", website="x")
        sr.refresh_from_db()
        self.assertTrue(sr.is_closed)

    @override_settings(CITY311_PORTAL_REOPENS_PER_IP=1)
    def test_reopening_is_rate_limited(self):
        first, second = self.closed(), self.closed(address_string="1390 Dumont Ave")
        self.assertEqual(self.reopen(first, comment="Still there").status_code, 302)
        self.assertEqual(self.reopen(second, comment="Still there").status_code, 429)


class RecentTests(PortalTestCase):
    def test_it_lists_newest_first_without_descriptions_or_personal_data(self):
        old = self.report(address_string="1300 Dumont Ave")
        ServiceRequest.objects.filter(pk=old.pk).update(
            requested_at=timezone.now() - timedelta(days=2)
        )
        new = self.report(address_string="1398 Dumont Ave")
        r = self.client.get("/requests/")
        text = r.content.decode()
        self.assertLess(text.index(new.tracking_number), text.index(old.tracking_number))
        for private in (*PRIVATE, "Deep hole by the curb"):
            self.assertNotContains(r, private)

    def test_it_filters_by_type_status_and_district(self):
        north = self.report(lat=40.67, long=-73.93, address_string="north")
        south = self.report(lat=40.62, long=-73.93, address_string="south")
        tree = self.report(service_code="fallen_tree", lat=40.68, long=-73.93, address_string="t")
        closed = self.closed(lat=40.69, long=-73.93, address_string="fixed")
        r = self.client.get("/requests/", {"district": "S"})
        self.assertContains(r, south.tracking_number)
        self.assertNotContains(r, north.tracking_number)
        r = self.client.get("/requests/", {"service_code": "fallen_tree"})
        self.assertContains(r, tree.tracking_number)
        self.assertNotContains(r, north.tracking_number)
        r = self.client.get("/requests/", {"status": "closed"})
        self.assertContains(r, closed.tracking_number)
        self.assertNotContains(r, north.tracking_number)
        r = self.client.get("/requests/", {"status": "open"})
        self.assertNotContains(r, closed.tracking_number)

    def test_it_pages_older_requests(self):
        now = timezone.now()
        made = []
        for n in range(30):
            sr = self.report(address_string=f"{1300 + 2 * n} Dumont Ave")
            ServiceRequest.objects.filter(pk=sr.pk).update(requested_at=now - timedelta(hours=n))
            made.append(sr.tracking_number)
        first = self.client.get("/requests/")
        self.assertContains(first, made[24])
        self.assertNotContains(first, made[25])
        before = first.context["page"].older
        second = self.client.get("/requests/", {"before": before})
        self.assertContains(second, made[25])
        self.assertContains(second, made[29])
        self.assertNotContains(second, made[24])
        self.assertIsNone(second.context["page"].older)

    def test_htmx_gets_only_the_results(self):
        self.report()
        r = self.client.get("/requests/", {"status": "open"}, HTTP_HX_REQUEST="true")
        self.assertNotContains(r, "<html")
        self.assertContains(r, "Pothole")


class GeoJsonTests(PortalTestCase):
    def test_points_carry_public_fields_only(self):
        sr = self.report()
        r = self.client.get("/api/requests.geojson")
        self.assertEqual(r["Content-Type"], "application/geo+json")
        data = r.json()
        self.assertEqual(data["type"], "FeatureCollection")
        [feature] = data["features"]
        self.assertEqual(feature["geometry"], {"type": "Point", "coordinates": [-73.9442, 40.6782]})
        self.assertEqual(
            set(feature["properties"]),
            {
                "tracking_number",
                "service_code",
                "service_name",
                "status",
                "status_words",
                "requested_at",
                "url",
            },
        )
        self.assertEqual(feature["properties"]["url"], f"/track/{sr.tracking_number}")
        for private in (*PRIVATE, "Deep hole"):
            self.assertNotIn(private, r.content.decode())

    def test_points_are_filtered_by_box_and_filters(self):
        inside = self.report(lat=40.67, long=-73.93)
        self.report(lat=40.62, long=-73.93)
        r = self.client.get(
            "/api/requests.geojson", {"bbox": "-74,40.65,-73.9,40.7", "status": "open"}
        )
        numbers = [f["properties"]["tracking_number"] for f in r.json()["features"]]
        self.assertEqual(numbers, [inside.tracking_number])
        self.assertEqual(self.client.get("/api/requests.geojson", {"bbox": "x"}).status_code, 400)

    def test_the_city_limits_are_served_simplified(self):
        r = self.client.get("/api/city-limits.geojson")
        data = r.json()
        self.assertEqual(data["features"][0]["properties"], {"name": "Small City"})
        self.assertEqual(data["features"][0]["geometry"]["type"], "Polygon")


class FollowBothWaysTests(PortalTestCase):
    """The form offers "an e-mail address, a mobile number, or both": each way given is used."""

    def follow(self, sr, **data):
        return self.client.post(f"/track/{sr.tracking_number}/follow", data)

    def texts(self) -> list[str]:
        folder = Path(settings.CITY311_SMS_FILE_PATH)
        return [p.read_text() for p in sorted(folder.glob("*.txt"))] if folder.exists() else []

    def test_a_follower_who_gives_both_is_sent_an_email_and_a_text(self):
        sr = self.report()
        r = self.follow(sr, email="lucia@example.org", phone="212 555 0134")
        self.assertEqual(r.status_code, 302)
        send_due_deliveries()
        self.assertEqual([m.to for m in mail.outbox], [["lucia@example.org"]])
        [text] = self.texts()
        self.assertIn("To: +12125550134", text)
        follower = Follower.objects.get(email="lucia@example.org")
        self.assertEqual(follower.channels, ["email", "sms"])

    def test_a_follower_who_gives_a_phone_alone_is_sent_a_text(self):
        sr = self.report()
        self.follow(sr, phone="212 555 0134")
        send_due_deliveries()
        self.assertEqual(mail.outbox, [])
        [text] = self.texts()
        self.assertIn(sr.tracking_number, text)

    def test_following_from_the_report_form_with_both_is_both_ways(self):
        earlier = self.report(address_string="1350 Dumont Ave", lat=40.67, long=-73.93)
        self.client.get("/report/pothole/")
        self.client.post("/report/pothole/location/", {"address": "1350 Dumont Avenue"})
        r = self.client.post(
            "/report/pothole/nearby/",
            {
                "action": "follow",
                "tracking_number": earlier.tracking_number,
                "email": "lucia@example.org",
                "phone": "212 555 0134",
            },
        )
        self.assertContains(r, "You are following the request")
        follower = Follower.objects.get(request=earlier, email="lucia@example.org")
        self.assertEqual(follower.channels, ["email", "sms"])


class ReopenedPageTests(PortalTestCase):
    def test_after_a_reopen_the_closing_words_are_history_not_the_latest_word(self):
        sr = self.closed()
        self.client.post(f"/track/{sr.tracking_number}/reopen", {"comment": "Still a hole"})
        for language in ("en", "es"):
            self.client.cookies["django_language"] = language
            page = self.page(sr).content.decode()
            facts = page.split('<dl class="portal-facts">')[1].split("</dl>")[0]
            self.assertNotIn("Filled the hole.", facts, language)
            # Still in the history of what happened.
            self.assertIn("Filled the hole.", page.split("portal-history")[1], language)
        # Open311 says the same: the latest public word is no longer the closing one.
        answer = self.client.get(f"/open311/v2/requests/{sr.tracking_number}.json").json()
        self.assertEqual(answer[0]["status"], "open")
        self.assertIsNone(answer[0]["status_notes"])
        actions.add_note(sr, text="A crew is going back.", public=True, by=self.dana)
        self.client.cookies["django_language"] = "en"
        self.assertContains(self.page(sr), "Latest word from the city")
        self.assertContains(self.page(sr), "A crew is going back.")

    def test_the_reopen_form_says_the_photo_and_comment_are_public_in_both_languages(self):
        sr = self.closed()
        page = self.page(sr)
        self.assertContains(page, "The photo is public: anyone with the tracking number sees it")
        self.assertContains(page, "It is shown on this public page")
        self.client.cookies["django_language"] = "es"
        page = self.page(sr)
        self.assertContains(page, "La foto es pública")
        self.assertContains(page, "Se muestra en esta página pública")
