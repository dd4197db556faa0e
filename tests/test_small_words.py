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


def test_every_models_plural_and_every_fields_label_reads_right():
    # The admin derives a plural by adding "s" and a label by capitalising the field's name:
    # "Search misss", "Url". Every model and field of city311's own apps, checked at once.
    import re

    from django.apps import apps

    wrong = []
    for model in apps.get_models():
        if not model.__module__.startswith("city311."):
            continue
        meta = model._meta
        singular, plural = str(meta.verbose_name), str(meta.verbose_name_plural)
        if plural == singular + "s" and re.search(r"(s|x|z|ch|sh|[^aeiou]y)$", singular):
            wrong.append(f"{meta.label}: {plural}")
        for field in meta.get_fields():
            label = str(getattr(field, "verbose_name", "") or "")
            if re.search(r"\b(url|sla|sms|ics|api|csv)\b", label.lower()) and not (
                re.search(r"\b(URL|SLA|SMS|ICS|API|CSV)\b", label)
            ):
                wrong.append(f"{meta.label}.{field.name}: {label}")
    assert not wrong, wrong
