import ast
from pathlib import Path

from django.contrib.auth.hashers import identify_hasher
from django.contrib.auth.models import User

from city311 import accounts
from city311.servicerequests.models import RequestEvent, ServiceRequest, Status
from city311.test import PASSWORD, BaseTestCase


class AccessTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.sr = self.report()
        self.url = f"/work/requests/{self.sr.tracking_number}/"

    def test_a_visitor_is_sent_to_sign_in(self):
        r = self.client.get("/work/")
        self.assertRedirects(r, "/accounts/login/?next=/work/")

    def test_pat_cannot_see_a_streets_request(self):
        # Answered as a number with no request: whether Streets has it is not hers to learn.
        self.sign_in(self.pat)
        self.assertEqual(self.client.get(self.url).status_code, 404)

    def test_pat_does_not_see_streets_work_in_her_queue(self):
        self.sign_in(self.pat)
        self.assertNotContains(self.client.get("/work/"), self.sr.tracking_number)

    def test_pat_cannot_close_a_streets_request(self):
        self.sign_in(self.pat)
        r = self.client.post(self.url + "close", {"resolution": "completed", "note": "x"})
        self.assertEqual(r.status_code, 404)
        self.assertEqual(ServiceRequest.objects.get(pk=self.sr.pk).status, Status.OPEN)

    def test_omar_sees_any_request_but_cannot_work_it(self):
        self.sign_in(self.omar)
        r = self.client.get(self.url)
        self.assertContains(r, self.sr.tracking_number)
        self.assertNotContains(r, "Close request")
        r = self.client.post(self.url + "start")
        self.assertEqual(r.status_code, 403)

    def test_max_reads_everything_and_changes_nothing(self):
        self.sign_in(self.max)
        self.assertEqual(self.client.get(self.url).status_code, 200)
        self.assertContains(self.client.get("/work/"), self.sr.tracking_number)
        self.assertEqual(self.client.post(self.url + "start").status_code, 403)

    def test_dana_cannot_assign(self):
        self.sign_in(self.dana)
        r = self.client.post(self.url + "assign", {"assignee": self.dana.pk})
        self.assertEqual(r.status_code, 403)

    def test_sofia_assigns_dana(self):
        self.sign_in(self.sofia)
        r = self.client.post(self.url + "assign", {"assignee": self.dana.pk}, follow=True)
        self.assertContains(r, "Assignment saved.")
        self.assertEqual(ServiceRequest.objects.get(pk=self.sr.pk).assignee, self.dana)

    def test_sofia_cannot_assign_someone_from_parks(self):
        self.sign_in(self.sofia)
        r = self.client.post(self.url + "assign", {"assignee": self.pat.pk}, follow=True)
        self.assertContains(r, "does not work in this department")

    def test_ada_works_any_department(self):
        self.sign_in(self.ada)
        r = self.client.post(self.url + "start", follow=True)
        self.assertContains(r, "Work started.")

    def test_contact_details_are_hidden_until_a_reason_is_given(self):
        self.sign_in(self.dana)
        self.assertNotContains(self.client.get(self.url), "rosa@example.org")
        r = self.client.post(self.url + "contact", {"reason": "Need the exact spot"}, follow=True)
        self.assertContains(r, "rosa@example.org")
        # The number as Dana would dial it, not as it is stored (+17185550199).
        self.assertContains(r, "(718) 555-0199")
        event = RequestEvent.objects.get(kind="request.contact_viewed")
        self.assertEqual((event.actor, event.public), (self.dana, False))
        self.assertNotContains(self.client.get(self.url), "rosa@example.org")

    def test_pat_cannot_see_contact_details_of_a_streets_request(self):
        self.sign_in(self.pat)
        r = self.client.post(self.url + "contact", {"reason": "curious"})
        self.assertEqual(r.status_code, 404)

    def test_the_admin_never_shows_contact_details(self):
        self.sign_in(self.ada)
        r = self.client.get(f"/admin/servicerequests/servicerequest/{self.sr.pk}/change/")
        self.assertEqual(r.status_code, 200)
        self.assertNotContains(r, "rosa@example.org")
        self.assertNotContains(r, "7185550199")

    def test_a_visitor_opening_the_console_is_sent_to_sign_in(self):
        r = self.client.get("/console/")
        self.assertRedirects(r, "/accounts/login/?next=/console/")

    def test_someone_signed_in_without_a_staff_role_is_told_the_work_pages_are_for_staff(self):
        self.client.force_login(User.objects.create_user("visitor"))
        r = self.client.get("/work/")
        self.assertContains(r, "This page is for city staff.", status_code=403)

    def test_pat_is_told_who_may_file_requests_in_the_console(self):
        self.sign_in(self.pat)
        for path in ("/console/", "/console/new/pothole/"):
            r = self.client.get(path)
            self.assertContains(
                r, "Only call takers and administrators file requests here.", status_code=403
            )

    def test_omar_opens_the_console(self):
        self.sign_in(self.omar)
        self.assertEqual(self.client.get("/console/").status_code, 200)

    def test_ada_opens_the_console(self):
        self.sign_in(self.ada)
        self.assertEqual(self.client.get("/console/").status_code, 200)

    def test_dana_sees_her_departments_request(self):
        self.sign_in(self.dana)
        self.assertContains(self.client.get(self.url), self.sr.tracking_number)

    def test_a_mistyped_number_is_a_404_not_a_403(self):
        self.sign_in(self.dana)
        self.assertEqual(self.client.get("/work/requests/123-4567-899/").status_code, 404)


class LayeringTests(BaseTestCase):
    def test_accounts_imports_no_domain_app(self):
        # STYLE.md: lib <- accounts <- catalog <- geo <- servicerequests <- ...
        domain = ("catalog", "geo", "servicerequests", "notifications", "open311", "portal")
        for path in Path(accounts.__file__).parent.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                for name in names:
                    parts = name.split(".")
                    self.assertFalse(
                        parts[0] == "city311" and len(parts) > 1 and parts[1] in domain,
                        f"{path} imports {name}",
                    )


class SignInTests(BaseTestCase):
    def test_passwords_are_hashed_with_argon2(self):
        self.assertEqual(identify_hasher(self.dana.password).algorithm, "argon2")

    def test_dana_signs_in(self):
        r = self.client.post("/accounts/login/", {"username": "dana", "password": PASSWORD})
        self.assertRedirects(r, "/work/")

    def test_repeated_failures_lock_the_account_out(self):
        for _ in range(5):
            self.client.post("/accounts/login/", {"username": "dana", "password": "wrong"})
        r = self.client.post("/accounts/login/", {"username": "dana", "password": PASSWORD})
        self.assertEqual(r.status_code, 429)
        self.assertContains(r, "too many failed attempts", status_code=429)
