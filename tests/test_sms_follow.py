"""Following a request by text, end to end: a resident who follows with a mobile number on the
portal, or whom a call taker signs up by text in the console, gets the request's news by SMS
through the notifications outbox (the file SMS provider: each text a file), in their language,
and a reply of STOP ends the texts.

Each step goes through its public face: the portal's follow form, the link in the text, the
staff work page, the console, and Twilio's signed webhook for the reply; the event stream and
the outbox are run as the worker runs them after each commit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import override_settings

from city311.notifications.models import Delivery, DeliveryStatus, Follower
from city311.notifications.tasks import send_due_deliveries
from city311.servicerequests.tasks import dispatch_events
from city311.test import BaseTestCase, text_the_city
from tests import small_city

LUCIA = "+12125550134"


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    CITY311_SMS_PROVIDER="file",
)
class SmsFollowTests(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _texts(self, tmp_path, settings):
        small_city.load(tmp_path)
        self.folder = tmp_path / "sms"
        settings.CITY311_SMS_FILE_PATH = str(self.folder)
        self.seen: set[Path] = set()

    def deliver(self) -> None:
        """What the worker does after each commit: read the event stream, then send."""
        dispatch_events()
        send_due_deliveries()

    def new_texts(self, number: str) -> list[str]:
        """The texts written to `number` since the last look."""
        found = sorted(self.folder.glob("*.txt")) if self.folder.exists() else []
        new = [p for p in found if p not in self.seen]
        self.seen.update(new)
        return [t for t in (p.read_text() for p in new) if f"To: {number}\n" in t]

    def staff_note(self, sr, text: str):
        self.sign_in(self.dana)
        r = self.client.post(
            f"/work/requests/{sr.tracking_number}/note", {"text": text, "public": "on"}
        )
        self.assertEqual(r.status_code, 302)
        self.client.logout()

    def reply(self, word: str):
        r = text_the_city(self.client, From=LUCIA, Body=word)
        self.assertEqual(r.status_code, 200)

    def test_a_resident_who_follows_by_text_on_the_portal_hears_by_sms_until_stop(self):
        sr = self.report(email="", phone="")
        r = self.client.post(f"/track/{sr.tracking_number}/follow", {"phone": "212 555 0134"})
        self.assertEqual(r.status_code, 302)
        self.deliver()
        [confirm] = self.new_texts(LUCIA)
        self.assertIn(sr.tracking_number, confirm)
        link = re.search(r"https?://[^/\s]+(/notifications/confirm/\S+)", confirm)
        self.assertIsNotNone(link, confirm)
        # Nothing is news to an address that has not confirmed.
        self.staff_note(sr, "Crew booked for Tuesday")
        self.deliver()
        self.assertEqual(self.new_texts(LUCIA), [])

        self.assertEqual(self.client.get(link.group(1)).status_code, 200)
        self.assertIsNotNone(Follower.objects.get(phone=LUCIA).confirmed_at)
        self.staff_note(sr, "Hole filled this morning")
        self.deliver()
        [news] = self.new_texts(LUCIA)
        self.assertIn(sr.tracking_number, news)
        self.assertIn("Hole filled this morning", news)
        self.assertIn(f"/track/{sr.tracking_number}", news)
        self.assertIn("Reply STOP", news)
        delivery = Delivery.objects.get(request=sr, kind="request.note", channel="sms")
        self.assertEqual(delivery.status, DeliveryStatus.SENT)

        self.reply("STOP")
        self.staff_note(sr, "Sign put up")
        self.deliver()
        self.assertEqual(self.new_texts(LUCIA), [])
        self.assertFalse(
            Delivery.objects.filter(request=sr, kind="request.note")
            .exclude(pk=delivery.pk)
            .filter(status=DeliveryStatus.SENT)
            .exists()
        )

    def test_a_caller_the_console_signs_up_by_text_hears_in_spanish_until_alto(self):
        sr = self.report(email="", phone="")
        self.sign_in(self.omar)
        r = self.client.post(
            f"/console/follow/{sr.tracking_number}/", {"phone": "212-555-0134", "language": "es"}
        )
        self.assertEqual(r.status_code, 302)
        self.client.logout()
        self.deliver()
        # Signed up by staff on the phone with them: following at once, told so by text.
        [confirm] = self.new_texts(LUCIA)
        self.assertIn(sr.tracking_number, confirm)
        self.assertNotIn("/notifications/confirm/", confirm)

        self.sign_in(self.dana)
        r = self.client.post(f"/work/requests/{sr.tracking_number}/start", {})
        self.assertEqual(r.status_code, 302)
        self.client.logout()
        self.deliver()
        [started] = self.new_texts(LUCIA)
        self.assertIn(sr.tracking_number, started)
        self.assertIn("Responda STOP", started)

        self.reply("ALTO")
        self.staff_note(sr, "Bache tapado")
        self.deliver()
        self.assertEqual(self.new_texts(LUCIA), [])
        self.assertIsNotNone(Follower.objects.get(phone=LUCIA).sms_stopped_at)

    def test_start_brings_the_texts_back(self):
        sr = self.report(email="", phone="")
        self.sign_in(self.omar)
        self.client.post(f"/console/follow/{sr.tracking_number}/", {"phone": "212-555-0134"})
        self.client.logout()
        self.deliver()
        self.new_texts(LUCIA)
        self.reply("STOP")
        self.reply("START")
        self.staff_note(sr, "Crew on the way")
        self.deliver()
        [news] = self.new_texts(LUCIA)
        self.assertIn("Crew on the way", news)
