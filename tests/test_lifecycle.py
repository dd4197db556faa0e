from city311.servicerequests import actions
from city311.servicerequests.errors import RequestError
from city311.servicerequests.models import RequestEvent, ServiceRequest, Status
from city311.test import BaseTestCase


class WorkPageLifecycleTests(BaseTestCase):
    """Dana works Rosa's pothole through the work pages."""

    def setUp(self):
        super().setUp()
        self.sr = self.report()
        self.sign_in(self.dana)
        self.url = f"/work/requests/{self.sr.tracking_number}/"

    def post(self, action, **data):
        return self.client.post(self.url + action, data, follow=True)

    def refreshed(self):
        return ServiceRequest.objects.get(pk=self.sr.pk)

    def test_dana_sees_the_request_in_her_queue(self):
        r = self.client.get("/work/")
        self.assertContains(r, self.sr.tracking_number)

    def test_dana_starts_work(self):
        r = self.post("start")
        self.assertContains(r, "Work started.")
        self.assertEqual(self.refreshed().status, Status.IN_PROGRESS)

    def test_dana_closes_with_a_resolution_and_a_public_note(self):
        r = self.post("close", resolution="completed", note="Filled the pothole.")
        self.assertContains(r, "Request closed.")
        sr = self.refreshed()
        self.assertEqual((sr.status, sr.resolution), (Status.CLOSED, "completed"))
        self.assertEqual(sr.status_notes, "Filled the pothole.")
        self.assertIsNotNone(sr.closed_at)
        event = sr.events.get(kind="request.closed")
        self.assertEqual((event.actor, event.public), (self.dana, True))

    def test_closing_needs_a_public_note(self):
        r = self.post("close", resolution="completed", note="")
        self.assertContains(r, "Choose a resolution and write what was done.")
        self.assertEqual(self.refreshed().status, Status.OPEN)

    def test_closing_needs_a_resolution(self):
        r = self.post("close", resolution="fixed-ish", note="done")
        self.assertContains(r, "Choose a resolution")
        self.assertEqual(self.refreshed().status, Status.OPEN)

    def test_closing_as_a_duplicate_links_the_original(self):
        original = self.report(address_string="1380 Dumont Ave")
        self.post(
            "close",
            resolution="duplicate",
            note="Already reported.",
            duplicate_of=original.tracking_number,
        )
        self.assertEqual(self.refreshed().duplicate_of, original)

    def test_closing_as_a_duplicate_needs_the_original(self):
        r = self.post("close", resolution="duplicate", note="Already reported.")
        self.assertContains(r, "Give the tracking number of the request this one duplicates.")

    def test_a_closed_request_cannot_close_twice(self):
        self.post("close", resolution="completed", note="Filled.")
        r = self.post("close", resolution="no_action", note="Again.")
        self.assertContains(r, "was already closed")
        self.assertEqual(self.refreshed().resolution, "completed")

    def test_dana_reopens_a_closed_request_with_a_reason(self):
        self.post("close", resolution="completed", note="Filled.")
        r = self.post("reopen", reason="Rosa says the hole is back.")
        self.assertContains(r, "Request reopened.")
        sr = self.refreshed()
        self.assertEqual((sr.status, sr.resolution, sr.closed_at), (Status.OPEN, "", None))
        self.assertTrue(sr.events.filter(kind="request.reopened", public=True).exists())

    def test_an_open_request_cannot_be_reopened(self):
        r = self.post("reopen", reason="why not")
        self.assertContains(r, "is not closed")

    def test_an_internal_note_is_not_public(self):
        self.post("note", text="Needs the asphalt crew", public="")
        event = self.refreshed().events.get(kind="request.note")
        self.assertFalse(event.public)
        self.assertEqual(self.refreshed().status_notes, "")

    def test_a_public_note_becomes_the_status_note(self):
        self.post("note", text="Crew scheduled for Tuesday", public="on")
        self.assertEqual(self.refreshed().status_notes, "Crew scheduled for Tuesday")

    def test_dana_transfers_to_parks_with_a_reason(self):
        r = self.post("transfer", department=self.parks.pk, reason="It is inside the park")
        self.assertContains(r, "Transferred to Parks.")
        sr = self.refreshed()
        self.assertEqual(sr.department, self.parks)
        event = sr.events.get(kind="request.transferred")
        self.assertEqual(event.data["reason"], "It is inside the park")

    def test_every_change_is_in_the_history_page(self):
        self.post("start")
        self.post("note", text="On the way", public="on")
        self.post("close", resolution="completed", note="Filled the pothole.")
        r = self.client.get(self.url)
        for label in ("Received", "Routed", "Work started", "On the way", "Filled the pothole."):
            self.assertContains(r, label)

    def test_a_change_to_a_closed_request_says_to_reopen_first(self):
        self.post("close", resolution="completed", note="Filled.")
        with self.assertRaisesMessage(RequestError, "reopen it before starting work"):
            actions.start_request(self.sr, by=self.dana)


class HistoryTests(BaseTestCase):
    def test_overdue_is_noted_once(self):
        sr = self.report()
        ServiceRequest.objects.filter(pk=sr.pk).update(due_at=sr.requested_at)
        self.assertTrue(actions.note_overdue(sr))
        self.assertFalse(actions.note_overdue(sr))
        self.assertEqual(RequestEvent.objects.filter(kind="request.overdue").count(), 1)
