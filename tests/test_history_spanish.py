"""The history lines city311 writes when something happens ("Assigned to Dana Tester.", "Now
handled by Parks.") are kept as their words and parameters and worded for each reader: a
supervisor who reads Spanish reads them in Spanish on the staff page, a resident on the public
page, whenever the event was written; the stored note (Open311, webhooks) stays English. The
board speaks Spanish too."""

from __future__ import annotations

import html
import re

import pytest
from django.test import override_settings

from city311.catalog.actions import set_translations
from city311.servicerequests import actions
from city311.servicerequests.models import RequestEvent
from city311.servicerequests.vocabulary import Event
from city311.test import BaseTestCase
from tests import small_city


def words(response) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
class HistoryInTheReadersLanguageTests(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _small_city(self, tmp_path):
        small_city.load(tmp_path)

    def setUp(self):
        set_translations(self.streets, "es", {"name": "Calles"})
        set_translations(self.parks, "es", {"name": "Parques"})
        set_translations(self.permit, "es", {"service_name": "Consulta de permiso de obra"})

    def worked_request(self):
        """Filed, then assigned, paused, given a work order, refiled and transferred."""
        sr = self.report()
        actions.assign_request(sr, to=self.dana, by=self.sofia)
        actions.pause_request(sr, reason="resident", by=self.dana)
        actions.resume_request(sr, by=self.dana)
        actions.add_work_order(sr, title="Tapar el bache", assignee=self.dana, by=self.sofia)
        actions.reclassify_request(
            sr, service_type=self.permit, by=self.dana, reason="Es una consulta"
        )
        actions.transfer_request(sr, department=self.parks, by=self.dana, reason="Es de parques")
        return sr

    def page(self, path: str, language: str) -> str:
        self.client.cookies["django_language"] = language
        response = self.client.get(path)
        self.assertEqual(response.status_code, 200)
        return words(response)

    def assert_reads(self, page: str, present: list[str], absent: list[str]) -> None:
        missing = [w for w in present if w not in page]
        left = [w for w in absent if w in page]
        self.assertEqual((missing, left), ([], []), page)

    def test_the_staff_page_words_each_line_in_the_readers_language(self):
        sr = self.worked_request()
        self.sign_in(self.max)
        path = f"/work/requests/{sr.tracking_number}/"
        spanish = [
            "Enviada a: Calles (el departamento habitual de este tipo).",
            "Asignada a Dana Tester.",
            "En espera del residente",
            "Orden de trabajo 1: Tapar el bache",
            "Ahora archivada como Consulta de permiso de obra.",
            "Ahora se encarga: Parques.",
            "por Residente vía portal web",
            "Motivo: En espera del residente",
        ]
        english = [
            "Sent to Streets (the type's default department).",
            "Assigned to Dana Tester.",
            "Waiting on the resident",
            "Work order 1: Tapar el bache",
            "Now filed as Building permit question.",
            "Now handled by Parks.",
            "by Resident via web portal",
            "Reason: Waiting on the resident",
        ]
        self.assert_reads(self.page(path, "es"), spanish, english)
        self.assert_reads(self.page(path, "en"), english, spanish)

    def test_the_stored_note_stays_english_for_open311_and_webhooks(self):
        sr = self.worked_request()
        notes = dict(sr.events.values_list("kind", "note"))
        self.assertEqual(notes[Event.ASSIGNED], "Assigned to Dana Tester.")
        self.assertEqual(notes[Event.TRANSFERRED], "Now handled by Parks.")
        self.assertEqual(notes[Event.PAUSED], "Waiting on the resident")

    def test_the_residents_page_words_the_citys_lines_in_spanish(self):
        sr = self.worked_request()
        page = self.page(f"/track/{sr.tracking_number}", "es")
        self.assert_reads(
            page,
            ["Enviada a: Calles.", "En espera del residente", "Ahora se encarga: Parques."],
            ["Waiting on the resident", "Now handled by"],
        )

    def test_a_merged_requests_closing_words_are_in_the_residents_language(self):
        first = self.report()
        second = self.report(address_string="1380 Dumont Ave")
        actions.merge_request(second, into=first, by=self.dana)
        closed = second.events.get(kind=Event.CLOSED)
        self.assertIn(f"same problem as request {first.tracking_number}", closed.note)
        self.assert_reads(
            self.page(f"/track/{second.tracking_number}", "es"),
            [f"Es el mismo problema que la solicitud {first.tracking_number}"],
            ["we will tell you"],
        )

    def test_a_person_s_own_words_are_shown_as_written(self):
        sr = self.report()
        actions.add_note(sr, text="Crew booked for Tuesday", public=True, by=self.dana)
        event = RequestEvent.objects.get(request=sr, kind=Event.NOTE)
        self.assertNotIn("words", event.data)
        self.assertIn("Crew booked for Tuesday", self.page(f"/track/{sr.tracking_number}", "es"))

    def test_the_board_is_in_spanish(self):
        self.report()
        self.sign_in(self.sofia)
        self.assert_reads(
            self.page("/work/board/", "es"),
            ["Tablero: trabajo sin asignar", "Por equipo", "Calles", "Sin asignar", "Muy vencido"],
            ["Board:", "By team", "Way overdue", "No open work", "Streets"],
        )
