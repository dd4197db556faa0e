from city311.test import BaseTestCase

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
            {
                "service_code": "snow_plow",
                "service_name": "Street not plowed",
                "description": "",
                "group": "Streets",
                "keywords": "snow, plow",
                "department": self.streets.pk,
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
            },
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
