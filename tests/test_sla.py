"""The SLA as a visible contract: the due date in words, the pause, escalation levels, response
templates and digests, through the work pages and the scheduled tasks.

Dana works in Streets, Sofia supervises it, Max manages. Rosa reports.
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from unittest import mock

from django.core import mail
from django.test import override_settings
from django.utils import timezone

from city311.catalog.models import ServiceType, SlaUnit
from city311.cities import profile
from city311.notifications.digests import send_digests
from city311.notifications.messages import forget_overrides
from city311.notifications.models import Digest, DigestFrequency, DigestSubscription
from city311.notifications.tasks import send_due_deliveries
from city311.servicerequests import actions
from city311.servicerequests.models import (
    Escalation,
    EscalationLevel,
    RequestEvent,
    ResponseTemplate,
    ServiceRequest,
)
from city311.servicerequests.tasks import dispatch_events, escalate_requests
from city311.servicerequests.vocabulary import Event
from city311.test import BaseTestCase

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def local(*args):
    return datetime(*args, tzinfo=profile.zone())


def at(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


@override_settings(EMAIL_BACKEND=LOCMEM, CITY311_SMS_PROVIDER="file")
class SlaTestCase(BaseTestCase):
    test_city = "nyc"  # Memorial Day and Thanksgiving, New York's clock

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.signal = ServiceType.objects.create(
            service_code="signal_out",
            service_name="Traffic signal out",
            department=cls.streets,
            location_required=False,
            sla_amount=24,
            sla_unit=SlaUnit.BUSINESS_HOURS,
        )

    def setUp(self):
        mail.outbox = []
        forget_overrides()

    def file(self, when, code="signal_out", **fields):
        """Rosa reports at `when`: a signal out (no place asked) or a pothole (with one)."""
        values = {"service_code": code, "phone": ""}
        if code == "signal_out":
            values.update(lat=None, long=None, address_string="", answers={})
        values.update(fields)
        with at(when):
            return self.report(**values)

    def page(self, sr, user=None):
        self.sign_in(user or self.dana)
        response = self.client.get(f"/work/requests/{sr.tracking_number}/")
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def act(self, sr, action, when, **data):
        self.sign_in(self.dana)
        with at(when):
            return self.client.post(f"/work/requests/{sr.tracking_number}/{action}", data)

    def deliver(self):
        dispatch_events()
        send_due_deliveries()

    def subjects_to(self, user):
        return [m.subject for m in mail.outbox if user.email in m.to]


class DueDateInWordsTests(SlaTestCase):
    def test_the_work_page_explains_the_due_date_with_the_holiday_it_skipped(self):
        # Friday 22 May 2026, 10:00, before Memorial Day: 7 hours on Friday, 8 on Tuesday,
        # 8 on Wednesday, 1 on Thursday.
        sr = self.file(local(2026, 5, 22, 10, 0))
        page = self.page(sr)
        self.assertIn("Due Thu 28 May 2026, 10:00", page)
        self.assertIn("24 business hours from Fri 22 May, 10:00", page)
        self.assertIn("Mon 25 May, Memorial Day, skipped", page)
        self.assertIn("weekends) skipped", page)

    def test_a_calendar_day_target_says_so(self):
        sr = self.file(local(2026, 5, 22, 10, 0), code="pothole")
        self.assertIn("5 calendar days from Fri 22 May, 10:00", self.page(sr))


class PauseTests(SlaTestCase):
    def test_a_pause_stops_the_clock_and_resuming_moves_the_due_date_by_the_working_time(self):
        sr = self.file(local(2026, 5, 22, 10, 0))
        self.act(sr, "pause", local(2026, 5, 26, 10, 0), reason="resident", note="Which pole?")
        sr.refresh_from_db()
        self.assertEqual(sr.paused, "resident")
        self.assertIn("Waiting on the resident", self.page(sr))
        # A whole working day later: the due date moves by 8 working hours.
        self.act(sr, "resume", local(2026, 5, 27, 10, 0))
        sr.refresh_from_db()
        self.assertEqual(sr.paused, "")
        self.assertEqual(sr.due_at, local(2026, 5, 29, 10, 0))
        page = self.page(sr)
        self.assertIn("Due Fri 29 May 2026, 10:00", page)
        self.assertIn("paused 8 hours (waiting on the resident), so the due date moved", page)

    def test_the_history_says_when_the_clock_stopped_and_started(self):
        sr = self.file(local(2026, 5, 22, 10, 0))
        self.act(sr, "pause", local(2026, 5, 26, 10, 0), reason="agency")
        self.act(sr, "resume", local(2026, 5, 26, 12, 0))
        kinds = list(sr.events.values_list("kind", "public", "actor"))
        self.assertIn((Event.PAUSED, True, self.dana.pk), kinds)
        self.assertIn((Event.RESUMED, True, self.dana.pk), kinds)
        resumed = sr.events.get(kind=Event.RESUMED)
        self.assertEqual(resumed.data["paused_seconds"], 7200)
        self.assertEqual(resumed.data["reason"], "agency")
        # The resident sees the request is on hold on its public page.
        public = self.client.get(f"/track/{sr.tracking_number}").content.decode()
        self.assertIn("On hold: we are waiting for information", public)

    def test_a_pause_after_the_due_date_does_not_move_it(self):
        sr = self.file(local(2026, 5, 22, 10, 0))
        self.act(sr, "pause", local(2026, 5, 29, 10, 0), reason="resident")
        self.act(sr, "resume", local(2026, 6, 2, 10, 0))
        sr.refresh_from_db()
        self.assertEqual(sr.due_at, local(2026, 5, 28, 10, 0))
        self.assertIn("after the due date, which did not move", self.page(sr))

    def test_a_paused_request_is_not_overdue_however_long_the_wait(self):
        sr = self.file(local(2026, 5, 22, 10, 0))
        self.act(sr, "pause", local(2026, 5, 26, 10, 0), reason="resident")
        self.assertFalse(ServiceRequest.objects.overdue().filter(pk=sr.pk).exists())
        self.assertEqual(escalate_requests(), 0)
        self.assertNotIn('class="tag">Overdue', self.page(sr))

    def test_pausing_twice_or_with_no_reason_says_what_to_do(self):
        sr = self.file(local(2026, 5, 22, 10, 0))
        response = self.act(sr, "pause", local(2026, 5, 26, 10, 0), reason="lunch")
        self.assertRedirects(
            response, f"/work/requests/{sr.tracking_number}/", fetch_redirect_response=False
        )
        self.assertIn("Choose what the request is waiting on", self.page(sr))
        self.act(sr, "pause", local(2026, 5, 26, 10, 0), reason="resident")
        self.act(sr, "pause", local(2026, 5, 26, 11, 0), reason="agency")
        self.assertIn("already paused", self.page(sr))
        self.assertEqual(sr.events.filter(kind=Event.PAUSED).count(), 1)

    def test_pat_from_parks_cannot_pause_a_streets_request(self):
        sr = self.file(local(2026, 5, 22, 10, 0))
        self.sign_in(self.pat)
        response = self.client.post(
            f"/work/requests/{sr.tracking_number}/pause", {"reason": "resident"}
        )
        self.assertEqual(response.status_code, 404)
        sr.refresh_from_db()
        self.assertEqual(sr.paused, "")

    def test_closing_stops_a_paused_clock_and_reopening_starts_a_fresh_one(self):
        sr = self.file(local(2026, 5, 22, 10, 0))
        actions.assign_request(sr, to=self.dana, by=self.sofia)
        self.act(sr, "pause", local(2026, 5, 26, 10, 0), reason="resident")
        with at(local(2026, 5, 26, 11, 0)):
            actions.close_request(sr, resolution="completed", note="Fixed.", by=self.dana)
        with at(local(2026, 6, 1, 9, 30)):
            sr = actions.reopen_request(sr, reason="Out again.", by=self.dana)
        self.assertEqual(sr.paused, "")
        self.assertEqual(sr.due_at, local(2026, 6, 4, 9, 30))
        self.assertIn("24 business hours from the reopening on Mon 1 Jun, 09:30", self.page(sr))


class EscalationTests(SlaTestCase):
    """Pothole: 5 calendar days. 75% (3 days 18 hours) warns Dana, the assignee; the breach
    tells Sofia, the supervisor; three times (15 days) tells Max, the manager."""

    def pothole_filed(self, days_ago, assign=True):
        sr = self.file(timezone.now() - timedelta(days=days_ago), code="pothole")
        if assign:
            actions.assign_request(sr, to=self.dana, by=self.sofia)
        return sr

    def test_a_sweep_that_runs_late_catches_up_with_one_message_per_level(self):
        sr = self.pothole_filed(days_ago=16)
        self.assertEqual(escalate_requests(), 3)
        self.deliver()
        self.assertEqual(len(self.subjects_to(self.dana)), 1)
        self.assertIn("Due soon", self.subjects_to(self.dana)[0])
        self.assertEqual(len(self.subjects_to(self.sofia)), 1)
        self.assertIn("Overdue: request", self.subjects_to(self.sofia)[0])
        self.assertIn("Far overdue (300%)", self.subjects_to(self.max)[0])
        levels = list(Escalation.objects.filter(request=sr).values_list("percent", "notify"))
        self.assertEqual(levels, [(75, "assignee"), (100, "supervisor"), (300, "manager")])

    def test_nothing_escalates_twice_for_the_same_level(self):
        sr = self.pothole_filed(days_ago=6)
        self.assertEqual(escalate_requests(), 2)
        self.deliver()
        sr.refresh_from_db()
        sr.escalation_due_at = timezone.now()  # as if a second worker looked at it too
        sr.save(update_fields=["escalation_due_at"])
        self.assertEqual(escalate_requests(), 0)
        self.assertEqual(actions.escalate_request(sr), 0)
        self.deliver()
        self.assertEqual(len(self.subjects_to(self.sofia)), 1)
        self.assertEqual(sr.events.filter(kind=Event.ESCALATED).count(), 2)

    def test_only_the_levels_reached_are_told_and_the_next_is_scheduled(self):
        sr = self.pothole_filed(days_ago=4)
        self.assertEqual(escalate_requests(), 1)
        sr.refresh_from_db()
        self.assertEqual(sr.escalation_due_at, sr.due_at)
        self.deliver()
        self.assertEqual(self.subjects_to(self.sofia), [])
        self.assertEqual(len(self.subjects_to(self.dana)), 1)

    def test_an_unassigned_request_warns_the_supervisor(self):
        self.pothole_filed(days_ago=4, assign=False)
        escalate_requests()
        self.deliver()
        self.assertEqual(len(self.subjects_to(self.sofia)), 1)

    def test_the_city_sets_its_own_levels_per_type(self):
        EscalationLevel.objects.create(
            service_type=self.pothole_type(), percent=50, notify="manager"
        )
        sr = self.pothole_filed(days_ago=3)
        self.assertEqual(escalate_requests(), 1)
        self.assertEqual(list(sr.escalations.values_list("percent", flat=True)), [50])

    def pothole_type(self):
        return ServiceType.objects.get(service_code="pothole")

    def test_the_work_page_shows_each_escalation_time_and_the_flag(self):
        sr = self.pothole_filed(days_ago=6)
        escalate_requests()
        page = self.page(sr)
        self.assertIn("Escalated: 100%", page)
        self.assertIn("The supervisor", page)
        self.assertIn("not yet", page)  # the manager's level
        self.assertIn("Escalated", [e.label for e in RequestEvent.objects.filter(request=sr)])

    def test_the_queue_flags_escalated_and_paused_requests(self):
        late = self.pothole_filed(days_ago=6)
        waiting = self.pothole_filed(days_ago=1)
        escalate_requests()
        actions.pause_request(waiting, reason="agency", by=self.dana)
        self.sign_in(self.sofia)
        rows = self.client.get("/work/").content.decode().split("<tr")
        [late_row] = [r for r in rows if late.tracking_number in r]
        [waiting_row] = [r for r in rows if waiting.tracking_number in r]
        self.assertIn("Escalated: 100%", late_row)
        self.assertIn("Overdue", late_row)
        self.assertIn("Paused", waiting_row)
        self.assertNotIn("Escalated", waiting_row)

    def test_a_reopened_request_escalates_anew(self):
        sr = self.pothole_filed(days_ago=6)
        escalate_requests()
        actions.close_request(sr, resolution="completed", note="Filled.", by=self.dana)
        sr = actions.reopen_request(sr, reason="Back again.", by=self.dana)
        self.assertEqual(sr.escalation_level, 0)
        self.assertEqual(escalate_requests(), 0)  # a fresh clock: nothing reached yet
        ServiceRequest.objects.filter(pk=sr.pk).update(
            clock_started_at=timezone.now() - timedelta(days=6),
            due_at=timezone.now() - timedelta(days=1),
            escalation_due_at=timezone.now(),
        )
        self.assertEqual(escalate_requests(), 2)
        self.assertEqual(sr.escalations.count(), 4)
        sr.refresh_from_db()
        self.assertEqual(sr.escalation_level, 100)

    def test_imported_history_never_escalates(self):
        sr = self.pothole_filed(days_ago=20)
        ServiceRequest.objects.filter(pk=sr.pk).update(channel="import")
        self.assertEqual(escalate_requests(), 0)


class ResponseTemplateTests(SlaTestCase):
    def test_a_template_posts_a_public_update_in_the_residents_words(self):
        sr = self.file(local(2026, 5, 22, 10, 0))
        english = ResponseTemplate.objects.create(
            title="Crew scheduled",
            service_type=self.signal,
            language="en",
            text="A crew is scheduled for request {{ tracking_number }} ({{ service_name }}).",
        )
        ResponseTemplate.objects.create(
            title="Cuadrilla programada",
            language="es",
            text="Hay una cuadrilla programada para la solicitud {{ tracking_number }}.",
        )
        ResponseTemplate.objects.create(
            title="Waiting on you", paused=True, language="en", text="We need a photo."
        )
        page = self.page(sr)
        self.assertIn("Crew scheduled (EN)", page)
        self.assertIn("Cuadrilla programada (ES)", page)
        self.assertNotIn("Waiting on you", page)  # only while the clock is paused
        self.sign_in(self.dana)
        self.client.post(f"/work/requests/{sr.tracking_number}/respond", {"template": english.pk})
        note = sr.events.get(kind=Event.NOTE)
        self.assertTrue(note.public)
        self.assertEqual(
            note.note, f"A crew is scheduled for request {sr.tracking_number} (Traffic signal out)."
        )

    def test_a_template_for_another_type_cannot_be_posted(self):
        sr = self.file(local(2026, 5, 22, 10, 0))
        other = ResponseTemplate.objects.create(
            title="Tree", service_type=self.tree, language="en", text="Tree crew."
        )
        self.sign_in(self.dana)
        self.client.post(f"/work/requests/{sr.tracking_number}/respond", {"template": other.pk})
        self.assertFalse(sr.events.filter(kind=Event.NOTE).exists())
        self.assertIn("Choose one of the response templates", self.page(sr))


class DigestTests(SlaTestCase):
    def test_a_daily_digest_lists_open_and_overdue_work_once_a_day(self):
        old = self.file(local(2026, 5, 1, 10, 0))
        actions.assign_request(old, to=self.dana, by=self.sofia)
        new = self.file(local(2026, 6, 1, 10, 0))
        actions.assign_request(new, to=self.dana, by=self.sofia)
        DigestSubscription.objects.create(user=self.dana, frequency=DigestFrequency.DAILY)
        with at(local(2026, 6, 2, 6, 0)):
            self.assertEqual(send_digests()["sent"], 0)  # before the digest hour
        with at(local(2026, 6, 2, 7, 15)):
            self.assertEqual(send_digests()["sent"], 1)
        with at(local(2026, 6, 2, 15, 0)):
            self.assertEqual(send_digests()["sent"], 0)  # once a day, however often it runs
        with at(local(2026, 6, 3, 9, 0)):
            self.assertEqual(send_digests()["sent"], 1)
        digest = mail.outbox[0]
        self.assertEqual(digest.to, [self.dana.email])
        self.assertIn("2 open requests for Dana Tester, 1 overdue", digest.subject)
        self.assertIn(f"{old.tracking_number}", digest.body)
        self.assertIn("(OVERDUE)", digest.body)

    def test_a_weekly_team_digest_goes_to_the_departments_mailbox(self):
        self.streets.email = "streets@city.example"
        self.streets.save()
        self.file(local(2026, 6, 1, 10, 0))
        DigestSubscription.objects.create(department=self.streets, frequency=DigestFrequency.WEEKLY)
        with at(local(2026, 6, 2, 8, 0)):  # Tuesday: a run late in the week still sends it
            self.assertEqual(send_digests()["sent"], 1)
        with at(local(2026, 6, 5, 8, 0)):
            self.assertEqual(send_digests()["sent"], 0)
        self.assertEqual(mail.outbox[0].to, ["streets@city.example"])
        self.assertIn("1 open request for Streets", mail.outbox[0].subject)

    def test_when_the_mail_server_cannot_be_reached_one_digest_spends_a_try(self):
        self.streets.email = "streets@city.example"
        self.streets.save()
        DigestSubscription.objects.create(user=self.dana, frequency=DigestFrequency.DAILY)
        DigestSubscription.objects.create(user=self.sofia, frequency=DigestFrequency.DAILY)
        DigestSubscription.objects.create(department=self.streets, frequency=DigestFrequency.DAILY)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # nothing listens here once the socket closes
        smtp = "django.core.mail.backends.smtp.EmailBackend"
        with (
            at(local(2026, 6, 2, 8, 0)),
            self.settings(EMAIL_BACKEND=smtp, EMAIL_HOST="127.0.0.1", EMAIL_PORT=port),
        ):
            self.assertEqual(send_digests(), {"planned": 3, "sent": 0})
        # The others wait for the next run untried, rather than each waiting out the timeout.
        tries = sorted(Digest.objects.values_list("status", "attempts"))
        self.assertEqual(tries, [("pending", 0), ("pending", 0), ("pending", 1)])
