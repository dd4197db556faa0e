"""Closing words staff type stay in the language typed: a resident reading another is told the
city's own words for the resolution first, and the closer's as theirs."""

from __future__ import annotations

import html

from django.core import mail
from django.test import override_settings

from city311.notifications.messages import forget_overrides
from city311.notifications.tasks import send_due_deliveries
from city311.servicerequests.tasks import dispatch_events
from city311.test import BaseTestCase

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
TYPED = "Filled the hole with hot asphalt."


@override_settings(EMAIL_BACKEND=LOCMEM, CITY311_SMS_PROVIDER="file")
class ClosingWordsTests(BaseTestCase):
    def setUp(self):
        mail.outbox = []
        forget_overrides()

    def deliver(self) -> None:
        dispatch_events()
        send_due_deliveries()

    def dana_closes_in_english(self, *, language: str):
        """Rosa reports in `language`; Dana closes it from her English work page."""
        sr = self.report(language=language, phone="")
        self.deliver()
        mail.outbox = []
        self.sign_in(self.dana)
        r = self.client.post(
            f"/work/requests/{sr.tracking_number}/close",
            {"resolution": "completed", "note": TYPED},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        self.assertEqual(r.status_code, 302)
        self.client.logout()
        self.deliver()
        return sr

    def what_was_done(self, sr, language: str) -> str:
        page = self.client.get(f"/track/{sr.tracking_number}", HTTP_ACCEPT_LANGUAGE=language)
        self.assertEqual(page.status_code, 200)
        text = html.unescape(page.content.decode())
        start = text.index("<dd>", text.index("Lo que se hizo" if language == "es" else "What"))
        return text[start + 4 : text.index("</dd>", start)].strip()

    def test_rosa_reads_the_citys_words_in_spanish_then_the_crews_as_typed(self):
        sr = self.dana_closes_in_english(language="es")
        self.assertEqual(
            self.what_was_done(sr, "es"),
            f"El trabajo está hecho. En palabras del equipo: “{TYPED}”",
        )

    def test_rosas_message_in_spanish_labels_the_crews_english_words_as_theirs(self):
        sr = self.dana_closes_in_english(language="es")
        [message] = [m for m in mail.outbox if "rosa@example.org" in m.to]
        self.assertIn(sr.tracking_number, message.body)
        body = message.body
        self.assertLess(body.index("El trabajo está hecho."), body.index(TYPED))
        self.assertIn(f"En palabras del equipo: {TYPED}", body)
        self.assertNotIn("Qué se hizo:", body)
        self.assertIn(f"En palabras del equipo:</strong> {TYPED}", message.alternatives[0][0])

    def test_in_the_language_typed_the_words_are_what_was_done(self):
        sr = self.dana_closes_in_english(language="en")
        self.assertEqual(self.what_was_done(sr, "en"), TYPED)
        [message] = [m for m in mail.outbox if "rosa@example.org" in m.to]
        self.assertIn(f"What was done: {TYPED}", message.body)
        self.assertNotIn("crew's words", message.body)

    def test_words_typed_on_a_spanish_page_are_labelled_for_an_english_reader(self):
        sr = self.report(phone="")
        self.sign_in(self.dana)
        self.client.post(
            f"/work/requests/{sr.tracking_number}/close",
            {"resolution": "no_action", "note": "Ya estaba reparado."},
            HTTP_ACCEPT_LANGUAGE="es",
        )
        self.client.logout()
        self.assertEqual(
            self.what_was_done(sr, "en"),
            "We looked into it and found nothing the city needs to do. "
            "In the crew's words: “Ya estaba reparado.”",
        )
