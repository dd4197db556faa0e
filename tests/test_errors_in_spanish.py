"""A Spanish page never shows an English error: domain problems are worded where they are shown."""

from django.utils import translation

from city311.catalog.models import Datatype, ServiceAttribute
from city311.catalog.models import Translation as CatalogText
from city311.servicerequests import actions
from city311.servicerequests.errors import RequestError, SubmissionInvalid
from tests.test_portal_report import ReportTestCase


class SpanishProblemsTests(ReportTestCase):
    def setUp(self):
        super().setUp()
        self.client.cookies["django_language"] = "es"

    def reach_review(self):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        self.give_contact()

    def test_a_question_added_while_rosa_filled_the_form_is_asked_in_spanish(self):
        self.reach_review()
        # The department adds a required question while Rosa is on the review page.
        question = ServiceAttribute.objects.create(
            service_type=self.pothole,
            code="hazard",
            description="Is anyone in danger?",
            datatype=Datatype.STRING,
            required=True,
            order=9,
        )
        CatalogText.objects.create(
            target=question,
            field="description",
            language="es",
            text="¿Hay alguien en peligro?",
        )
        r = self.send()
        self.assertContains(r, "Responda la pregunta «¿Hay alguien en peligro?».")
        self.assertNotContains(r, "Answer the question")

    def test_the_same_problem_is_worded_in_english_where_english_is_shown(self):
        sub_problems = None
        with translation.override("es"):
            try:
                self.report(answers={})
            except SubmissionInvalid as e:
                sub_problems = e
        assert sub_problems is not None
        self.assertEqual(sub_problems.codes["attribute[size]"], ["required"])
        with translation.override("es"):
            self.assertEqual(
                sub_problems.errors["attribute[size]"], ["Responda la pregunta «How big is it?»."]
            )
        with translation.override("en"):
            self.assertEqual(
                sub_problems.errors["attribute[size]"], ["Answer the question “How big is it?”."]
            )

    def test_an_action_refused_explains_itself_in_the_language_shown(self):
        sr = self.report()
        actions.close_request(sr, resolution="completed", note="Filled", by=self.dana)
        with self.assertRaises(RequestError) as caught:
            actions.add_note(sr, text="  ", public=True, by=self.dana)
        self.assertEqual(caught.exception.code, "required")
        with translation.override("es"):
            self.assertEqual(caught.exception.message, "Escriba la nota antes de guardarla.")
        self.assertEqual(caught.exception.message, "Write the note before saving it.")
