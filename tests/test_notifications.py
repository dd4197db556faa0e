"""Notifications in one process: who hears what, in which words, and the links in messages.

The e-mail backend here is Django's in-memory one; tests/test_notifications_worker.py sends
through a real worker to a real SMTP server.
"""

from __future__ import annotations

import re
import socket
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

from django.core import mail
from django.db import DatabaseError
from django.test import override_settings
from django.utils import timezone
from django.utils.formats import date_format

from city311.catalog.actions import set_translations
from city311.notifications import actions, tokens
from city311.notifications.actions import plan_deliveries
from city311.notifications.channels.sms import SmsTransport, TwilioProvider
from city311.notifications.messages import forget_overrides, make_message, sms_segments
from city311.notifications.models import (
    Delivery,
    DeliveryStatus,
    Follower,
    MessageTemplate,
    Role,
)
from city311.notifications.queries import deliveries_for
from city311.notifications.tasks import (
    DeliverySender,
    send_deliveries,
    send_due_deliveries,
    sweep,
)
from city311.servicerequests import actions as requests
from city311.servicerequests.imports import HistoricalRecord, import_history
from city311.servicerequests.models import Channel, RequestEvent, ServiceRequest
from city311.servicerequests.tasks import dispatch_events
from city311.test import BaseTestCase, city_time, text_the_city

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@override_settings(EMAIL_BACKEND=LOCMEM, CITY311_SMS_PROVIDER="file")
class NotificationTestCase(BaseTestCase):
    def setUp(self):
        mail.outbox = []
        forget_overrides()

    def deliver(self) -> None:
        """What the workers do after each commit: run the event stream, then send."""
        dispatch_events()
        send_due_deliveries()

    def rosa_reports(self, **fields) -> ServiceRequest:
        fields.setdefault("phone", "")
        sr = self.report(**fields)
        self.deliver()
        return sr

    def mails_to(self, address: str) -> list:
        return [m for m in mail.outbox if address in m.to]

    def last_mail_to(self, address: str):
        found = self.mails_to(address)
        self.assertTrue(found, f"no message to {address}")
        return found[-1]

    def assert_well_formed(self, message, sr: ServiceRequest) -> None:
        html = message.alternatives[0][0]
        for body in (message.body, html):
            self.assertIn(sr.tracking_number, body)
            self.assertIn(f"http://127.0.0.1:8000/track/{sr.tracking_number}", body)
            self.assertIn("/notifications/stop/", body)
        self.assertIn("/notifications/stop/", message.extra_headers["List-Unsubscribe"])

    def follower(self, sr: ServiceRequest, role: str = Role.REPORTER) -> Follower:
        return Follower.objects.get(request=sr, role=role)


class EventMessageTests(NotificationTestCase):
    """Rosa (English) and Rosa's neighbour Lucía (Spanish) hear of every change."""

    def change_and_read(self, change, *, language: str):
        sr = self.rosa_reports(language=language)
        mail.outbox = []
        change(ServiceRequest.objects.get(pk=sr.pk))
        self.deliver()
        message = self.last_mail_to("rosa@example.org")
        self.assert_well_formed(message, sr)
        return message

    def test_it_tells_the_reporter_it_was_received_with_what_happens_next_and_the_due_date(self):
        sr = self.rosa_reports()
        message = self.last_mail_to("rosa@example.org")
        self.assertEqual(message.subject, f"We received your request {sr.tracking_number}")
        self.assertIn("Streets will look at it", message.body)
        due = date_format(city_time(sr.due_at), "DATE_FORMAT")
        self.assertIn(f"We expect it to be done by {due}.", message.body)
        self.assert_well_formed(message, sr)

    def test_it_tells_a_spanish_speaking_reporter_in_spanish(self):
        sr = self.rosa_reports(language="es")
        message = self.last_mail_to("rosa@example.org")
        self.assertEqual(message.subject, f"Recibimos su solicitud {sr.tracking_number}")
        self.assertIn("Streets la revisará", message.body)
        self.assertIn("de", message.body)
        self.assertIn("Dejar de recibir estos mensajes", message.body)

    def test_it_names_the_service_and_department_in_the_followers_language(self):
        set_translations(self.pothole, "es", {"service_name": "Bache"})
        set_translations(self.streets, "es", {"name": "Calles"})
        self.rosa_reports(language="es")
        spanish = self.last_mail_to("rosa@example.org")
        self.assertIn("Gracias por reportar: Bache.", spanish.body)
        self.assertIn("Calles la revisará", spanish.body)
        self.rosa_reports(email="omar.neighbour@example.org", language="en")
        english = self.last_mail_to("omar.neighbour@example.org")
        self.assertIn("Thank you for reporting: Pothole.", english.body)
        self.assertIn("Streets will look at it", english.body)

    def test_it_tells_followers_when_a_transfer_changes_who_handles_it(self):
        transfer = lambda sr: requests.transfer_request(  # noqa: E731
            sr, department=self.parks, by=self.dana, reason="It is in the park"
        )
        en = self.change_and_read(transfer, language="en")
        self.assertRegex(en.subject, r"Request \S+ is now handled by Parks")
        self.assertNotIn("It is in the park", en.body)
        es = self.change_and_read(transfer, language="es")
        self.assertRegex(es.subject, r"La solicitud \S+ ahora la atiende Parks")

    def test_it_tells_followers_when_work_starts(self):
        start = lambda sr: requests.start_request(sr, by=self.dana, note="Crew on site")  # noqa: E731
        en = self.change_and_read(start, language="en")
        self.assertRegex(en.subject, r"Work has started on request \S+")
        self.assertIn("Crew on site", en.body)
        es = self.change_and_read(start, language="es")
        self.assertRegex(es.subject, r"Comenzó el trabajo en la solicitud \S+")

    def test_it_passes_on_public_notes(self):
        note = lambda sr: requests.add_note(  # noqa: E731
            sr, text="Asphalt arrives Tuesday", public=True, by=self.dana
        )
        en = self.change_and_read(note, language="en")
        self.assertRegex(en.subject, r"News about request \S+")
        self.assertIn("Asphalt arrives Tuesday", en.body)
        es = self.change_and_read(note, language="es")
        self.assertRegex(es.subject, r"Novedades de la solicitud \S+")

    def test_it_never_sends_internal_notes(self):
        sr = self.rosa_reports()
        mail.outbox = []
        requests.add_note(sr, text="Resident is difficult", public=False, by=self.dana)
        self.deliver()
        self.assertEqual(mail.outbox, [])

    def test_it_tells_followers_what_was_done_when_it_closes_with_a_survey(self):
        close = lambda sr: requests.close_request(  # noqa: E731
            sr, resolution="completed", note="Filled the hole", by=self.dana
        )
        en = self.change_and_read(close, language="en")
        self.assertRegex(en.subject, r"Request \S+ is closed")
        self.assertIn("The work is done.", en.body)
        self.assertIn("What was done: Filled the hole", en.body)
        self.assertIn("/notifications/survey/", en.body)
        es = self.change_and_read(close, language="es")
        self.assertRegex(es.subject, r"La solicitud \S+ está cerrada")
        self.assertIn("El trabajo está hecho.", es.body)
        # Dana typed English: the Spanish reader is told it is the crew's own words.
        self.assertIn("En palabras del equipo: Filled the hole", es.body)

    def test_it_tells_followers_when_it_reopens(self):
        def reopen(sr):
            requests.close_request(sr, resolution="completed", note="Done", by=self.dana)
            requests.reopen_request(sr, reason="Still a hole", by=self.dana)

        en = self.change_and_read(reopen, language="en")
        self.assertRegex(en.subject, r"Request \S+ is open again")
        self.assertIn("Still a hole", en.body)
        es = self.change_and_read(reopen, language="es")
        self.assertRegex(es.subject, r"La solicitud \S+ está abierta de nuevo")

    def test_it_tells_followers_of_a_merged_request_when_it_merges_and_when_the_parent_closes(self):
        for language, merged, parent_closed in [
            ("en", "same problem as request", "which yours joined, is closed"),
            ("es", "mismo problema que la solicitud", "a la que se unió la suya, está cerrada"),
        ]:
            with self.subTest(language=language):
                parent = self.rosa_reports(email="neighbour@example.org")
                child = self.rosa_reports(language=language)
                mail.outbox = []
                requests.merge_request(child, into=parent, by=self.dana)
                self.deliver()
                message = self.last_mail_to("rosa@example.org")
                self.assertIn(merged, message.body)
                self.assertIn(parent.tracking_number, message.body)
                self.assertNotIn("/notifications/survey/", message.body)
                requests.start_request(parent, by=self.dana)
                self.deliver()
                self.assertIn(parent.tracking_number, self.last_mail_to("rosa@example.org").body)
                requests.close_request(parent, resolution="completed", note="Paved", by=self.dana)
                self.deliver()
                message = self.last_mail_to("rosa@example.org")
                self.assertIn(parent_closed, message.subject)
                self.assertIn("Paved", message.body)
                self.assertIn("/notifications/survey/", message.body)
                self.assert_well_formed(message, child)

    def test_it_tells_the_reporter_of_routing_at_intake_only_in_the_received_message(self):
        self.rosa_reports()
        self.assertEqual(len(self.mails_to("rosa@example.org")), 1)

    def test_it_sends_nothing_when_the_reporter_wants_no_updates(self):
        self.rosa_reports(wants_updates=False)
        self.assertEqual(mail.outbox, [])
        self.assertFalse(Follower.objects.exists())

    def test_it_sends_nothing_for_imported_records(self):
        import_history(
            [
                HistoricalRecord(
                    service_code="pothole",
                    external_id="old-1",
                    requested_at=timezone.now() - timedelta(hours=3),
                    closed_at=timezone.now() - timedelta(hours=1),
                    resolution_note="Fixed long ago",
                    channel=Channel.PHONE,
                )
            ],
            source="legacy",
        )
        self.deliver()
        sweep()
        self.assertEqual(mail.outbox, [])
        self.assertFalse(Delivery.objects.exists())

    def test_it_tells_nobody_of_news_more_than_two_days_old(self):
        sr = self.rosa_reports()
        mail.outbox = []
        requests.add_note(sr, text="Crew booked", public=True, by=self.dana)
        RequestEvent.objects.filter(kind="request.note").update(
            at=timezone.now() - timedelta(days=3)
        )
        self.deliver()  # workers that were down for three days
        self.assertEqual(mail.outbox, [])
        self.assertFalse(Delivery.objects.filter(kind="request.note").exists())

    def test_it_sends_one_message_however_often_an_event_is_handled(self):
        self.rosa_reports()
        self.deliver()
        sweep()
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(Delivery.objects.count(), 1)

    def test_it_texts_a_reporter_who_left_a_phone_number(self):
        sr = self.rosa_reports(email="", phone="718-555-0199")
        delivery = Delivery.objects.get(request=sr)
        self.assertEqual((delivery.channel, delivery.status), ("sms", DeliveryStatus.SENT))
        self.assertEqual(self.follower(sr).phone, "+17185550199")
        text = make_message(delivery).sms
        self.assertIn(sr.tracking_number, text)
        self.assertIn(f"/track/{sr.tracking_number}", text)
        self.assertIn("Reply STOP", text)

    def test_it_writes_to_a_reporter_who_left_both_by_e_mail_only(self):
        sr = self.rosa_reports(phone="718-555-0199")
        self.assertEqual(
            list(Delivery.objects.filter(request=sr).values_list("channel", flat=True)), ["email"]
        )
        self.assertEqual(len(self.mails_to("rosa@example.org")), 1)

    def test_it_writes_both_ways_to_a_reporter_whose_submission_asked_for_both(self):
        # The event's wants_updates is the submission's: true, false, or "both".
        sr = self.rosa_reports(phone="718-555-0199", wants_updates="both")
        self.assertEqual(
            sorted(Delivery.objects.filter(request=sr).values_list("channel", flat=True)),
            ["email", "sms"],
        )

    def test_it_texts_too_when_a_reporter_who_left_both_follows_by_phone(self):
        sr = self.rosa_reports(phone="718-555-0199")
        again = actions.follow_request(sr, phone="(718) 555-0199")
        self.assertEqual(again, self.follower(sr))
        requests.add_note(sr, text="Crew booked", public=True, by=self.dana)
        self.deliver()
        self.assertEqual(
            sorted(Delivery.objects.filter(kind="request.note").values_list("channel", flat=True)),
            ["email", "sms"],
        )
        # Already confirmed, as the reporter: no confirmation message either way.
        self.assertFalse(Delivery.objects.filter(kind="follow.confirm").exists())

    def test_it_adds_no_unconfirmed_number_to_someone_who_follows_already(self):
        sr = self.rosa_reports()
        actions.follow_request(sr, email="rosa@example.org", phone="212 555 0134", both=True)
        self.assertEqual(self.follower(sr).phone, "")
        requests.add_note(sr, text="Crew booked", public=True, by=self.dana)
        self.deliver()
        self.assertFalse(Delivery.objects.filter(channel="sms").exists())

    def test_it_sends_one_way_to_a_follower_who_gave_both_unless_they_ask_for_both(self):
        sr = self.rosa_reports(email="", phone="")
        one = actions.follow_request(
            sr, email="lucia@example.org", phone="212 555 0134", by=self.omar
        )
        both = actions.follow_request(
            sr, email="pedro@example.org", phone="212 555 0135", both=True, by=self.omar
        )
        send_due_deliveries()
        confirmations = Delivery.objects.filter(kind="follow.confirm")
        self.assertEqual(
            list(confirmations.filter(follower=one).values_list("channel")), [("email",)]
        )
        self.assertEqual(
            sorted(confirmations.filter(follower=both).values_list("channel", flat=True)),
            ["email", "sms"],
        )

    def test_it_uses_the_administrators_wording_for_a_service_type(self):
        MessageTemplate.objects.create(
            kind="request.submitted",
            language="en",
            service_type=self.pothole,
            subject="Pothole {{ tracking_number }} logged",
            text="Crews fill potholes within {{ service_name }} targets.",
        )
        MessageTemplate.objects.create(
            kind="request.submitted", language="en", subject="Generic {{ tracking_number }}"
        )
        sr = self.rosa_reports()
        message = self.last_mail_to("rosa@example.org")
        self.assertEqual(message.subject, f"Pothole {sr.tracking_number} logged")
        self.assertIn("Crews fill potholes within Pothole targets.", message.body)
        # Parts left empty keep the built-in wording; the frame is always there.
        self.assertIn("Thank you for reporting", message.alternatives[0][0])
        self.assert_well_formed(message, sr)

    def test_it_alerts_a_department_with_an_e_mail_of_new_urgent_requests(self):
        self.parks.email = "parks-dispatch@city.example"
        self.parks.save()
        sr = self.rosa_reports(service_code="fallen_tree")
        message = self.last_mail_to("parks-dispatch@city.example")
        self.assertEqual(message.subject, f"Urgent request {sr.tracking_number}: Fallen tree")
        self.rosa_reports(email="other@example.org")  # a pothole: not urgent
        self.assertEqual(len(self.mails_to("parks-dispatch@city.example")), 1)

    def test_it_handles_events_whose_wake_up_never_came_at_the_scheduled_dispatch(self):
        self.report(phone="")  # in a test case, nothing runs after commit: no wake-up
        dispatch_events()  # as the schedule does every minute
        sweep()
        self.assertEqual(len(self.mails_to("rosa@example.org")), 1)

    def test_it_shows_staff_how_each_message_went_without_the_address(self):
        sr = self.rosa_reports(phone="718-555-0199")
        actions.follow_request(sr, phone="718-555-0199")  # by SMS too
        requests.start_request(sr, by=self.dana)
        self.deliver()
        lines = deliveries_for(sr)
        self.assertEqual([line["channel"] for line in lines], ["E-mail", "E-mail", "SMS"])
        self.assertRegex(lines[0]["summary"], r"^e-mailed \d\d:\d\d, delivered to the SMTP server$")
        self.assertEqual(lines[0]["to"], "Reporter")
        self.assertNotIn("rosa@example.org", str(lines))


class FollowTests(NotificationTestCase):
    def setUp(self):
        super().setUp()
        self.sr = self.rosa_reports()
        mail.outbox = []

    def test_it_asks_someone_who_follows_to_confirm_once(self):
        actions.follow_request(self.sr, email="lucia@example.org", language="es")
        actions.follow_request(self.sr, email="lucia@example.org", language="es")
        send_due_deliveries()
        [message] = self.mails_to("lucia@example.org")
        self.assertIn("Confirme", message.subject)
        self.assertIn("/notifications/confirm/", message.body)
        self.assert_well_formed(message, self.sr)

    def test_it_tells_a_follower_nothing_until_they_confirm(self):
        follower = actions.follow_request(self.sr, email="lucia@example.org")
        requests.add_note(self.sr, text="Crew booked", public=True, by=self.dana)
        self.deliver()
        self.assertEqual(
            [m.subject for m in self.mails_to("lucia@example.org")],
            [f"Confirm: follow request {self.sr.tracking_number}?"],
        )
        response = self.client.get(tokens.confirm_path(follower))
        self.assertContains(response, "You are following the request")
        requests.add_note(self.sr, text="Crew on the way", public=True, by=self.dana)
        self.deliver()
        self.assertIn("Crew on the way", self.last_mail_to("lucia@example.org").body)

    def test_it_follows_at_once_when_an_operator_signs_a_caller_up(self):
        follower = actions.follow_request(self.sr, phone="212 555 0134", by=self.omar)
        self.assertIsNotNone(follower.confirmed_at)
        self.assertEqual(follower.phone, "+12125550134")

    def test_it_refuses_to_follow_without_an_address(self):
        with self.assertRaisesMessage(Exception, "Give an e-mail address or a phone number"):
            actions.follow_request(self.sr)


class UnsubscribeTests(NotificationTestCase):
    def setUp(self):
        super().setUp()
        self.sr = self.rosa_reports(phone="718-555-0199")
        self.rosa = self.follower(self.sr)
        mail.outbox = []

    def test_it_stops_every_message_from_the_link_without_signing_in(self):
        link = re.search(r"http://127.0.0.1:8000(/notifications/stop/\S+)", self.unsub_body())
        self.assertIsNotNone(link)
        page = self.client.get(link.group(1))
        self.assertContains(page, "Stop messages?")
        self.assertIsNone(Follower.objects.get(pk=self.rosa.pk).unsubscribed_at)
        page = self.client.post(link.group(1))
        self.assertContains(page, "You will get no more messages")
        requests.start_request(self.sr, by=self.dana)
        self.deliver()
        self.assertEqual(mail.outbox, [])

    def unsub_body(self) -> str:
        delivery = Delivery.objects.filter(request=self.sr, channel="email").first()
        return make_message(delivery).text

    def test_it_refuses_a_link_that_was_changed(self):
        path = tokens.unsubscribe_path(self.rosa)
        response = self.client.post(path[:-3] + "xyz")
        self.assertEqual(response.status_code, 404)
        self.assertIsNone(Follower.objects.get(pk=self.rosa.pk).unsubscribed_at)

    def text_the_city(self, body: str) -> None:
        response = text_the_city(self.client, From="+17185550199", Body=body)
        self.assertEqual(response.status_code, 200)

    def channels_told(self, kind: str) -> list[str]:
        self.deliver()
        return sorted(Delivery.objects.filter(kind=kind).values_list("channel", flat=True))

    def test_it_stops_texts_when_the_number_replies_stop(self):
        actions.follow_request(self.sr, phone="718-555-0199")  # Rosa asks for texts too
        self.text_the_city("Stop ")
        rosa = Follower.objects.get(pk=self.rosa.pk)
        self.assertIsNone(rosa.unsubscribed_at)
        requests.start_request(self.sr, by=self.dana)
        self.assertEqual(self.channels_told("request.started"), ["email"])

    def test_it_texts_again_when_the_number_replies_start(self):
        sr = self.rosa_reports(email="", phone="718-555-0199")
        self.text_the_city("STOP")
        requests.start_request(sr, by=self.dana)
        self.assertEqual(self.channels_told("request.started"), [])
        self.text_the_city("start")
        requests.add_note(sr, text="Crew booked", public=True, by=self.dana)
        self.assertEqual(self.channels_told("request.note"), ["sms"])

    def test_it_does_not_restart_someone_who_stopped_by_the_link_when_the_number_replies_start(
        self,
    ):
        sr = self.rosa_reports(email="", phone="718-555-0199")
        actions.unsubscribe(self.follower(sr))
        self.text_the_city("STOP")
        self.text_the_city("UNSTOP")
        requests.start_request(sr, by=self.dana)
        self.assertEqual(self.channels_told("request.started"), [])

    @override_settings(TWILIO_AUTH_TOKEN="secret")
    def test_it_ignores_inbound_sms_that_twilio_did_not_sign(self):
        response = self.client.post(
            "/notifications/sms/twilio", {"From": "+17185550199", "Body": "STOP"}
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(Follower.objects.get(pk=self.rosa.pk).phone, "+17185550199")


class SmsLengthTests(NotificationTestCase):
    """Texts stay within three segments; the tracking number and the link always stay."""

    def text_about(self, kind: str, sr: ServiceRequest) -> str:
        self.deliver()
        return make_message(Delivery.objects.get(request=sr, kind=kind, channel="sms")).sms

    def assert_fits_with_number_and_link(self, text: str, sr: ServiceRequest) -> None:
        self.assertLessEqual(sms_segments(text), 3, text)
        self.assertIn(sr.tracking_number, text.split("http")[0])
        self.assertIn(f"http://127.0.0.1:8000/track/{sr.tracking_number}", text)

    def test_it_counts_segments_of_the_gsm_alphabet_and_of_other_characters(self):
        self.assertEqual([sms_segments("a" * n) for n in (160, 161, 459, 460)], [1, 2, 3, 4])
        self.assertEqual([sms_segments("á" * n) for n in (70, 71, 201, 202)], [1, 2, 3, 4])
        self.assertEqual(sms_segments("{" * 80), 1)  # two units each
        self.assertEqual(sms_segments("{" * 81), 2)

    def test_it_shortens_a_long_note_first(self):
        MessageTemplate.objects.create(
            kind="request.note",
            language="en",
            sms="{{ city_name }} 311, request {{ tracking_number }}: {{ note }}",
        )
        sr = self.rosa_reports(email="", phone="718-555-0199")
        requests.add_note(sr, text="The crew will come back. " * 40, public=True, by=self.dana)
        text = self.text_about("request.note", sr)
        self.assert_fits_with_number_and_link(text, sr)
        self.assertIn("The crew will come back. The crew", text)
        self.assertIn("... http://", text)
        self.assertTrue(text.endswith("Reply STOP to stop."))

    def test_it_drops_accents_before_the_survey_link_in_a_long_spanish_text(self):
        sr = self.rosa_reports(email="", phone="718-555-0199", language="es")
        received = self.text_about("request.submitted", sr)
        self.assertTrue(received.endswith("Responda STOP para no recibir más."), received)
        requests.close_request(sr, resolution="completed", note="Bache tapado", by=self.dana)
        closed = self.text_about("request.closed", sr)
        self.assert_fits_with_number_and_link(closed, sr)
        self.assertIn("/notifications/survey/", closed)
        self.assertTrue(closed.endswith("Responda STOP para no recibir mas."), closed)

    def test_it_cuts_an_administrators_long_wording_and_keeps_the_number(self):
        MessageTemplate.objects.create(
            kind="request.submitted", language="en", sms="Thank you for telling us. " * 30
        )
        sr = self.rosa_reports(email="", phone="718-555-0199")
        text = self.text_about("request.submitted", sr)
        self.assert_fits_with_number_and_link(text, sr)
        self.assertTrue(text.startswith(f"{sr.tracking_number}: Thank you for telling us."), text)


class SurveyTests(NotificationTestCase):
    def setUp(self):
        super().setUp()
        self.streets.email = "streets-desk@city.example"
        self.streets.save()
        self.sr = self.rosa_reports()
        requests.close_request(self.sr, resolution="completed", note="Filled", by=self.dana)
        self.deliver()
        self.closed = RequestEvent.objects.get(request=self.sr, kind="request.closed")
        self.path = tokens.survey_path(self.follower(self.sr), self.closed)
        mail.outbox = []

    def test_it_records_an_answer_from_the_link_without_signing_in(self):
        page = self.client.get(self.path + "?fixed=yes")
        self.assertContains(page, "Was the problem fixed?")
        page = self.client.post(self.path, {"fixed": "yes", "satisfaction": "5", "comment": "Ok"})
        self.assertContains(page, "Your answer helps")
        answer = self.sr.surveys.get()
        self.assertEqual((answer.fixed, answer.satisfaction, answer.reopened), (True, 5, False))

    def test_it_reopens_a_request_that_is_not_fixed_and_tells_its_department(self):
        page = self.client.post(self.path, {"fixed": "no", "comment": "Still there"})
        self.assertContains(page, "We reopened request")
        self.sr.refresh_from_db()
        self.assertEqual(self.sr.status, "open")
        self.deliver()
        desk = self.last_mail_to("streets-desk@city.example")
        self.assertIn("reopened by the resident", desk.subject)
        self.assertIn("Still there", desk.body)
        self.assertIn("is open again", self.last_mail_to("rosa@example.org").subject)

    def test_it_does_not_reopen_after_the_reopen_window(self):
        ServiceRequest.objects.filter(pk=self.sr.pk).update(
            closed_at=timezone.now() - timedelta(days=31)
        )
        page = self.client.post(self.path, {"fixed": "no"})
        self.assertContains(page, "closed too long ago")
        self.assertEqual(ServiceRequest.objects.get(pk=self.sr.pk).status, "closed")

    def test_it_refuses_a_survey_link_that_was_changed(self):
        response = self.client.post(self.path + "x", {"fixed": "no"})
        self.assertEqual(response.status_code, 404)
        self.assertEqual(ServiceRequest.objects.get(pk=self.sr.pk).status, "closed")


class SendingTests(NotificationTestCase):
    def test_it_retries_later_when_the_smtp_server_cannot_be_reached_then_gives_up(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # nothing listens here once the socket closes
        with self.settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            CITY311_DELIVERY_MAX_ATTEMPTS=2,
            CITY311_DELIVERY_RETRY_SECONDS=60,
        ):
            sr = self.rosa_reports()
            delivery = Delivery.objects.get(request=sr)
            self.assertEqual((delivery.status, delivery.attempts), (DeliveryStatus.PENDING, 1))
            self.assertIn("could not reach the SMTP server", delivery.error)
            self.assertGreater(delivery.due_at, timezone.now() + timedelta(seconds=50))
            Delivery.objects.filter(pk=delivery.pk).update(due_at=timezone.now())
            send_due_deliveries()
        delivery.refresh_from_db()
        self.assertEqual((delivery.status, delivery.attempts), (DeliveryStatus.FAILED, 2))
        self.assertRegex(deliveries_for(sr)[0]["summary"], "^E-mail failed: could not reach")

    def test_it_spends_one_try_when_the_smtp_server_cannot_be_reached_with_many_waiting(self):
        for i in range(30):  # more than a worker claims at once
            self.report(email=f"resident{i}@example.org", phone="")
        for event in RequestEvent.objects.all():
            plan_deliveries(event)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with self.settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
        ):
            self.assertEqual(send_due_deliveries(), 0)
        tries = Counter(Delivery.objects.values_list("status", "attempts"))
        self.assertEqual(tries, {(DeliveryStatus.PENDING, 1): 1, (DeliveryStatus.PENDING, 0): 29})

    def test_a_send_the_database_stops_gives_back_the_messages_it_had_not_tried_at_once(self):
        # The database goes away as the first message of a claim is marked sent. That one
        # went out: it stays claimed, to go again (with its Message-ID) once the claim is
        # released. The rest of the claim was never tried: back in the queue at once, no try
        # counted, for any worker to take, rather than held until the lease runs out.
        for i in range(5):
            self.report(email=f"resident{i}@example.org", phone="")
        for event in RequestEvent.objects.all():
            plan_deliveries(event)
        waiting = Delivery.objects.count()

        class DatabaseGone(DeliverySender):
            def sent(self, delivery: Delivery, detail: str) -> bool:
                raise DatabaseError("server closed the connection unexpectedly")

        with self.assertRaises(DatabaseError):
            DatabaseGone(Delivery.objects.all(), {}).send_due(limit=100)
        self.assertEqual(len(mail.outbox), 1)
        tries = Counter(Delivery.objects.values_list("status", "attempts"))
        self.assertEqual(
            tries, {(DeliveryStatus.SENDING, 1): 1, (DeliveryStatus.PENDING, 0): waiting - 1}
        )

    def test_it_writes_texts_to_files_with_the_file_provider(self):
        with tempfile.TemporaryDirectory() as folder:
            with self.settings(CITY311_SMS_FILE_PATH=folder):
                sr = self.rosa_reports(email="", phone="718-555-0199")
            written = list(Path(folder).glob("*.txt"))
            self.assertEqual(len(written), 1)
            self.assertIn(sr.tracking_number, written[0].read_text())
            self.assertIn("To: +17185550199", written[0].read_text())

    def test_it_records_a_number_twilio_calls_invalid_as_failed_for_good(self):
        from twilio.base.exceptions import TwilioRestException

        class Messages:
            def create(self, **kwargs):
                raise TwilioRestException(
                    400, "uri", msg="The 'To' number is not valid", code=21211
                )

        class Client:
            messages = Messages()

        sr = self.rosa_reports(email="", phone="718-555-0199")
        delivery = Delivery.objects.get(request=sr)
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING)
        transport = SmsTransport(TwilioProvider(client=Client()))
        send_deliveries(Delivery.objects.filter(pk=delivery.pk), transports={"sms": transport})
        delivery.refresh_from_db()
        self.assertEqual(
            (delivery.status, delivery.error), (DeliveryStatus.FAILED, "invalid number")
        )
        self.assertEqual(deliveries_for(sr)[0]["summary"], "SMS failed: invalid number")

    def test_it_sends_with_twilio_from_the_citys_number(self):
        sent = {}

        class Messages:
            def create(self, **kwargs):
                sent.update(kwargs)
                return type("Message", (), {"sid": "SM123"})()

        class Client:
            messages = Messages()

        with self.settings(TWILIO_FROM_NUMBER="+12125550100"):
            detail = TwilioProvider(client=Client()).send_text("+17185550199", "Hi", key="k")
        self.assertEqual(detail, "accepted by Twilio (SM123)")
        self.assertEqual(sent, {"to": "+17185550199", "body": "Hi", "from_": "+12125550100"})

    def test_it_does_not_send_to_someone_who_stopped_before_it_went_out(self):
        sr = self.report(phone="")
        event = RequestEvent.objects.get(request=sr, kind="request.submitted")
        plan_deliveries(event)
        actions.unsubscribe(self.follower(sr))
        send_due_deliveries()
        self.assertEqual(mail.outbox, [])
        self.assertEqual(Delivery.objects.get(request=sr).status, DeliveryStatus.CANCELLED)

    def test_it_refuses_an_administrators_wording_that_is_not_a_template(self):
        wording = MessageTemplate(kind="request.closed", language="en", subject="{% if %}")
        with self.assertRaisesMessage(Exception, "This is not a valid template"):
            wording.full_clean()
