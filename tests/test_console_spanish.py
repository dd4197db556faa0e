"""The console speaks Spanish to a call taker who reads Spanish: the caller's screen with the
card, the search, the request form, the read-back, the answers, and the supervisor's live view.

Omar and Sofia have chosen Spanish with the language switch (its cookie). Each page is read as
a person reads it, and none of the console's English words may be left."""

from __future__ import annotations

from datetime import date

from django.test import override_settings

from city311.knowledge.actions import save_article
from city311.knowledge.models import Article
from city311.test import BaseTestCase
from tests.test_work_spanish import assert_reads, words

# The console's own words in English: none may be left on a Spanish page.
ENGLISH = [
    "What is the caller reporting or asking?",
    "Search services and answers",
    "Is the caller asking a question?",
    "Caller's number",
    "Address, if the caller gave one",
    "Show the caller",
    "End the call without a request",
    "How did it end?",
    "Information given",
    "Log the call",
    "Preferred language",
    "Open requests",
    "The caller asks",
    "Status given",
    "Earlier contacts",
    "Best matches",
    "Choose another service",
    "What to say",
    "Where is it?",
    "Latitude and longitude instead",
    "What did the caller say?",
    "Caller (kept private)",
    "Language for updates",
    "The caller wants updates",
    "File the request",
    "(required)",
    "Request filed",
    "Tracking number:",
    "Read it back",
    "Expected by",
    "Take the next call",
    "Call centre today",
    "Handle time by call taker",
    "Top information requests",
    "Phone system",
    "None yet.",
    "Repeat callers",
    "Answered with this",
    "Answers for",
    "Logged:",
    "handle time",
    "You take contacts at",
    "The phones",
    "A walk-in counter",
    "Figures for the day",
    "The day before",
    "Against the targets",
    "Average handle time:",
]


class ConsoleInSpanishTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.client.cookies["django_language"] = "es"
        self.sign_in(self.omar)

    def page(self, response) -> str:
        self.assertLess(response.status_code, 400, response.content[:500])
        return words(response)

    def test_the_callers_screen_and_card_speak_spanish(self):
        self.report()
        self.client.post("/console/caller/", {"phone": "718-555-0199"})
        page = self.page(self.client.get("/console/"))
        assert_reads(
            page,
            [
                "¿Qué reporta o pregunta la persona que llama?",
                "Buscar servicios y respuestas",
                "Número de quien llama",
                "Mostrar a quien llama",
                "Solicitudes abiertas",
                "La persona pregunta",
                "Estado dado",
                "Terminar la llamada sin solicitud",
                "Registrar la llamada",
                "¿La persona que llama hace una pregunta?",
                "Atiende los contactos en",
                "Un mostrador de atención en persona",
            ],
            ENGLISH,
        )

    def test_the_search_speaks_spanish(self):
        page = self.page(self.client.get("/console/", {"q": "pothole"}))
        assert_reads(page, ["Mejores resultados para «pothole»"], ENGLISH)

    def test_the_request_form_and_the_read_back_speak_spanish(self):
        page = self.page(self.client.get("/console/new/pothole/"))
        assert_reads(
            page,
            [
                "Elegir otro servicio",
                "¿Dónde está? (dirección, esquina o lugar)",
                "¿Qué dijo la persona?",
                "Persona que llama (datos privados)",
                "Registrar la solicitud",
            ],
            ENGLISH,
        )
        sr = self.report()
        page = self.page(self.client.get(f"/console/filed/{sr.tracking_number}/"))
        assert_reads(
            page,
            [
                "Solicitud registrada",
                "Número de seguimiento:",
                "Léaselo:",
                "Atender la siguiente llamada",
            ],
            ENGLISH,
        )

    def test_an_answered_call_is_logged_in_spanish(self):
        pools = save_article(
            Article(
                slug="public-pools",
                title="When are the public pools open?",
                summary="Outdoor pools open daily from late June.",
                body="Indoor pools are open all year.",
                keywords="swimming pool",
                status="published",
                review_by=date(2099, 1, 1),
            ),
            by=None,
        )
        page = self.page(self.client.get("/console/", {"q": "swimming pool"}))
        assert_reads(page, ["Respuestas para «swimming pool»", "Respondida con esto"], ENGLISH)
        r = self.client.post(f"/console/answered/{pools.slug}/", follow=True)
        assert_reads(self.page(r), ["Registrada: solo información, tiempo de atención"], ENGLISH)

    @override_settings(CITY311_CALL_EVENTS_SECRET="")
    def test_the_supervisors_live_view_speaks_spanish(self):
        self.client.cookies["django_language"] = "es"
        self.sign_in(self.sofia)
        page = self.page(self.client.get("/console/supervisor/"))
        assert_reads(
            page,
            [
                "Centro de llamadas hoy",
                "Tiempo de atención por operador",
                "Consultas de información más frecuentes",
                "Central telefónica",
                "Ninguno todavía.",
                "Llamadas repetidas (en 7 días):",
                "Cifras del día",
                "El día anterior",
                "Frente a los objetivos",
                "Tiempo medio de atención:",
            ],
            ENGLISH,
        )
