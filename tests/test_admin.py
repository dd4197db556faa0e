from django.test import override_settings

from city311.catalog.actions import set_translations
from city311.catalog.models import ServiceAttribute, Translation
from city311.test import BaseTestCase

SNOW_PLOW = {
    "service_code": "snow_plow",
    "service_name": "Street not plowed",
    "description": "",
    "group": "Streets",
    "keywords": "snow, plow",
    "urgency": "normal",
    "sla_amount": "2",
    "sla_unit": "calendar_days",
    "referral": "",
    "active": "on",
    "duplicate_radius_m": "50",
    "duplicate_window_days": "30",
    "display_order": "100",
    "location_required": "on",
    "attributes-TOTAL_FORMS": "1",
    "attributes-INITIAL_FORMS": "0",
    "attributes-MIN_NUM_FORMS": "0",
    "attributes-MAX_NUM_FORMS": "1000",
    "attributes-0-order": "1",
    "attributes-0-code": "depth",
    "attributes-0-description": "How deep is the snow (cm)?",
    "attributes-0-datatype": "number",
    "attributes-0-required": "on",
    "attributes-0-variable": "on",
}

PAGES = [
    "catalog/department",
    "catalog/servicetype",
    "catalog/serviceattribute",
    "catalog/businesshours",
    "catalog/holiday",
    "geo/boundary",
    "auth/user",
    "auth/group",
    "servicerequests/servicerequest",
]


class AdminTests(BaseTestCase):
    def test_ada_can_open_every_admin_list_and_add_page(self):
        self.sign_in(self.ada)
        for page in PAGES:
            self.assertEqual(self.client.get(f"/admin/{page}/").status_code, 200, page)
            if page != "servicerequests/servicerequest":
                self.assertEqual(self.client.get(f"/admin/{page}/add/").status_code, 200, page)

    def test_ada_adds_a_service_type_with_a_question(self):
        self.sign_in(self.ada)
        r = self.client.post(
            "/admin/catalog/servicetype/add/",
            {**SNOW_PLOW, "department": self.streets.pk},
        )
        self.assertEqual(r.status_code, 302, r.content[:2000])
        sr = self.report(service_code="snow_plow", answers={"depth": "30"})
        self.assertEqual(sr.answers, {"depth": "30"})

    def test_a_non_urgent_type_without_a_department_is_refused(self):
        self.sign_in(self.ada)
        r = self.client.post(
            "/admin/catalog/servicetype/add/",
            {
                "service_code": "orphan",
                "service_name": "Orphan",
                "urgency": "normal",
                "sla_unit": "calendar_days",
                "display_order": "100",
                "attributes-TOTAL_FORMS": "0",
                "attributes-INITIAL_FORMS": "0",
                "attributes-MIN_NUM_FORMS": "0",
                "attributes-MAX_NUM_FORMS": "1000",
            },
        )
        self.assertContains(r, "Choose the department that handles this type.")

    def test_dana_cannot_open_the_admin(self):
        self.sign_in(self.dana)
        self.assertEqual(self.client.get("/admin/catalog/servicetype/").status_code, 302)


class TranslationAdminTests(BaseTestCase):
    """Ada edits what residents read in every offered language beside the English."""

    def setUp(self):
        super().setUp()
        self.sign_in(self.ada)

    def test_ada_sees_the_spanish_beside_the_english_of_a_service_type(self):
        set_translations(self.pothole, "es", {"service_name": "Bache"})
        r = self.client.get(f"/admin/catalog/servicetype/{self.pothole.pk}/change/")
        self.assertContains(r, 'class="fieldset-heading">Español</h2>')
        self.assertContains(r, 'name="service_name__es"')
        self.assertContains(r, 'value="Bache"')
        self.assertContains(r, 'name="attributes-0-description__es"')

    @override_settings(LANGUAGES=[("en", "English"), ("es", "Español"), ("fr", "Français")])
    def test_a_third_language_gets_its_own_fields_without_a_migration(self):
        r = self.client.get(f"/admin/catalog/servicetype/{self.pothole.pk}/change/")
        self.assertContains(r, 'class="fieldset-heading">Français</h2>')
        self.assertContains(r, 'name="referral__fr"')
        self.assertContains(r, 'name="attributes-0-description__fr"')
        r = self.client.get(f"/admin/catalog/department/{self.streets.pk}/change/")
        self.assertContains(r, 'name="name__fr"')

    def test_ada_adds_a_service_type_and_its_question_in_spanish(self):
        r = self.client.post(
            "/admin/catalog/servicetype/add/",
            {
                **SNOW_PLOW,
                "department": self.streets.pk,
                "service_name__es": "Calle sin limpiar de nieve",
                "group__es": "Calles",
                "attributes-0-description__es": "¿Qué profundidad tiene la nieve (cm)?",
            },
        )
        self.assertEqual(r.status_code, 302, r.content[:2000])
        self.client.cookies["django_language"] = "es"
        self.assertContains(self.client.get("/"), "Calle sin limpiar de nieve")
        self.client.cookies["django_language"] = "en"
        self.assertContains(self.client.get("/"), "Street not plowed")
        depth = ServiceAttribute.objects.get(code="depth")
        self.assertEqual(
            depth.translated("description", "es"), "¿Qué profundidad tiene la nieve (cm)?"
        )

    def test_ada_names_a_department_in_spanish_and_spanish_pages_use_it(self):
        r = self.client.post(
            f"/admin/catalog/department/{self.streets.pk}/change/",
            {"name": "Streets", "slug": "transportation", "active": "on", "name__es": "Calles"},
        )
        self.assertEqual(r.status_code, 302, r.content[:2000])
        sr = self.report()
        self.client.cookies["django_language"] = "es"
        self.assertContains(self.client.get(f"/track/{sr.tracking_number}"), "Calles")

    def test_ada_empties_a_spanish_name_and_residents_read_the_english(self):
        set_translations(self.streets, "es", {"name": "Calles"})
        self.client.post(
            f"/admin/catalog/department/{self.streets.pk}/change/",
            {"name": "Streets", "slug": "transportation", "active": "on", "name__es": ""},
        )
        self.assertFalse(Translation.objects.filter(content_type__app_label="catalog").exists())
        self.assertEqual(self.streets.translated("name", "es"), "Streets")

    def test_a_spanish_name_longer_than_the_english_may_be_is_refused(self):
        r = self.client.post(
            f"/admin/catalog/department/{self.streets.pk}/change/",
            {"name": "Streets", "slug": "transportation", "name__es": "C" * 121},
        )
        self.assertContains(r, "Ensure this value has at most 120 characters")
        self.assertFalse(Translation.objects.filter(content_type__app_label="catalog").exists())


class MessageTemplateLanguageTests(BaseTestCase):
    @override_settings(LANGUAGES=[("en", "English"), ("es", "Español"), ("fr", "Français")])
    def test_ada_words_a_message_in_a_language_the_city_just_added(self):
        from city311.notifications.models import MessageTemplate

        self.sign_in(self.ada)
        page = self.client.get("/admin/notifications/messagetemplate/add/")
        self.assertContains(page, '<option value="fr">Français</option>', html=True)
        r = self.client.post(
            "/admin/notifications/messagetemplate/add/",
            {"kind": "request.closed", "language": "fr", "subject": "Demande fermée"},
        )
        self.assertEqual(r.status_code, 302, r.content[-2000:])
        self.assertEqual(MessageTemplate.objects.get().language, "fr")

    def test_a_language_the_city_does_not_offer_is_refused(self):
        self.sign_in(self.ada)
        r = self.client.post(
            "/admin/notifications/messagetemplate/add/",
            {"kind": "request.closed", "language": "xx", "subject": "?"},
        )
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "Select a valid choice")
