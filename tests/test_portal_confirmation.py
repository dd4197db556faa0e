"""The confirmation page says when the city expects to deal with the report: the promise (the
type's due date) and, where the city's history says so, how long such requests really take."""

from __future__ import annotations

from django.utils import timezone, translation
from django.utils.formats import date_format

from city311.servicerequests import expected
from city311.servicerequests.models import ExpectedClose, ServiceRequest
from city311.test import city_time
from tests.test_portal_report import ReportTestCase


class ConfirmationDatesTests(ReportTestCase):
    def setUp(self):
        super().setUp()
        # The rollup is read at most once a while: forget what another test read.
        expected._rollup = (-expected.ROLLUP_TTL, {})
        self.addCleanup(setattr, expected, "_rollup", (-expected.ROLLUP_TTL, {}))

    def due_words(self, sr: ServiceRequest, language: str) -> str:
        with translation.override(language):
            return date_format(city_time(sr.due_at), "DATE_FORMAT")

    def test_the_page_says_the_due_date_the_request_was_given(self):
        r = self.report_pothole()
        sr = ServiceRequest.objects.get()
        self.assertIsNotNone(sr.due_at)
        self.assertContains(r, f"We expect to deal with it by {self.due_words(sr, 'en')}.")
        # Without history enough for a forecast, the promise, and a plain word that the
        # history cannot say more yet.
        self.assertNotContains(r, "data-expected")
        self.assertContains(r, "There is not yet enough history of Pothole requests here")

    def test_in_spanish_and_with_the_citys_own_history_beside_it(self):
        ExpectedClose.objects.create(
            service_type=self.pothole,
            district="",
            season="",
            requests=120,
            closed=110,
            most_within_hours=90,
            typical_hours=40,
            computed_at=timezone.now(),
        )
        self.client.cookies["django_language"] = "es"
        r = self.report_pothole()
        sr = ServiceRequest.objects.get()
        page = r.content.decode()
        self.assertIn(self.due_words(sr, "es"), page)
        self.assertNotIn("We expect to deal with it", page)
        self.assertIn("data-expected", page)
        self.assertIn("se cierran en 4 días", page)
        self.assertIn("Una solicitud como esta suele tardar alrededor de 2 días.", page)
        self.assertNotIn("Todavía no hay historial suficiente", page)
