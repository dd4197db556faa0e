"""The small words read right: Rosa's Spanish review page and the administrators' labels."""

from tests.test_portal_report import ReportTestCase


class SpanishReviewTests(ReportTestCase):
    def test_a_report_without_photos_says_ninguna_in_spanish(self):
        self.client.cookies["django_language"] = "es"
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        page = self.give_contact().content.decode()
        self.assertIn("Fotos", page)
        self.assertIn("Ninguna", page)
        self.assertNotIn("Ninguno", page)

    def test_in_english_it_says_none(self):
        self.start()
        self.give_address()
        self.answer_questions()
        self.describe()
        self.finish_photos()
        page = self.give_contact().content.decode()
        self.assertRegex(page, r"<dt>Photos</dt><dd>None</dd>")


class AdminLabelTests(ReportTestCase):
    def setUp(self):
        self.sign_in(self.ada)

    def test_the_admin_index_spells_its_plurals(self):
        page = self.client.get("/admin/").content.decode()
        self.assertIn("Deliveries", page)
        for wrong in ("Deliverys", "identitys"):
            self.assertNotIn(wrong, page)

    def test_the_service_type_form_names_the_sla(self):
        page = self.client.get(f"/admin/catalog/servicetype/{self.pothole.pk}/change/")
        self.assertContains(page, "SLA amount")
        self.assertContains(page, "SLA unit")
        self.assertNotContains(page, "Sla amount")
