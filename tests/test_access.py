from django.contrib.auth.hashers import identify_hasher

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
        self.sign_in(self.pat)
        self.assertEqual(self.client.get(self.url).status_code, 403)

    def test_pat_does_not_see_streets_work_in_her_queue(self):
        self.sign_in(self.pat)
        self.assertNotContains(self.client.get("/work/"), self.sr.tracking_number)

    def test_pat_cannot_close_a_streets_request(self):
        self.sign_in(self.pat)
        r = self.client.post(self.url + "close", {"resolution": "completed", "note": "x"})
        self.assertEqual(r.status_code, 403)
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
        event = RequestEvent.objects.get(kind="request.contact_viewed")
        self.assertEqual((event.actor, event.public), (self.dana, False))
        self.assertNotContains(self.client.get(self.url), "rosa@example.org")

    def test_pat_cannot_see_contact_details_of_a_streets_request(self):
        self.sign_in(self.pat)
        r = self.client.post(self.url + "contact", {"reason": "curious"})
        self.assertEqual(r.status_code, 403)

    def test_the_admin_never_shows_contact_details(self):
        self.sign_in(self.ada)
        r = self.client.get(f"/admin/servicerequests/servicerequest/{self.sr.pk}/change/")
        self.assertEqual(r.status_code, 200)
        self.assertNotContains(r, "rosa@example.org")
        self.assertNotContains(r, "7185550199")


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
