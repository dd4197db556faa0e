"""Notifications through real `city311 worker` processes to a real SMTP server on loopback.

The SMTP server (aiosmtpd) runs in this process; the workers get its port in EMAIL_PORT.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from django.test import TransactionTestCase
from django_q.tasks import async_task

from city311.notifications import actions, tokens
from city311.notifications.models import Delivery, DeliveryStatus, Follower
from city311.notifications.queries import deliveries_for
from city311.servicerequests import actions as requests
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.test import CityMixin
from tests.helpers import city311_env, free_port, wait_for

# No e-mail address or phone number of anyone in these tests may reach the logs.
PERSONAL = ("@example.org", "@city.example", "7185550199", "555-0199")


class Mailbox:
    """An SMTP server's handler that keeps what it accepts and misbehaves when told to."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.refuse = 0  # answer this many messages "451 try again later"
        self.hold_at = 0  # never answer the n-th message, until released
        self.held = threading.Event()
        self.release = threading.Event()
        self.delay = 0.0
        self.seen = 0
        self.connections: list[tuple[str, int]] = []  # the client's end of each message's

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.seen += 1
            n = self.seen
            refuse = self.refuse > 0
            self.refuse -= refuse
        if refuse:
            return "451 4.3.0 Mailbox busy, try again later"
        if n == self.hold_at:
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "421 4.3.0 Closing"
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.connections.append(session.peer)
        return "250 2.0.0 OK"

    def to(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.messages if address in str(m["To"])]

    def body(self, message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return part.get_content()


class WorkerNotificationTests(CityMixin, TransactionTestCase):
    def setUp(self):
        self.make_city()
        self.mailbox = Mailbox()
        self.smtp = Controller(self.mailbox, hostname="127.0.0.1", port=free_port())
        self.smtp.start()
        self.workers: list[subprocess.Popen] = []
        self.env = city311_env(
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(self.smtp.port),
            CITY311_WORKER_PROCESSES="1",
            CITY311_DELIVERY_RETRY_SECONDS="1",
            CITY311_DELIVERY_LEASE_SECONDS="2",
            CITY311_SMS_PROVIDER="file",
            CITY311_LOG_LEVEL="INFO",
        )

    def tearDown(self):
        self.mailbox.release.set()
        for worker in self.workers:
            self.stop(worker)
        self.smtp.stop()

    def start_worker(self, **env: str) -> subprocess.Popen:
        # A session of its own, so the worker and its child processes can be killed together.
        worker = subprocess.Popen(
            [sys.executable, "-m", "city311", "worker"],
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def stop(self, worker: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
        """SIGTERM stops a worker gently; SIGKILL kills it and its child processes at once."""
        if worker.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(worker.pid, signal.SIGKILL)
            else:
                worker.send_signal(sig)
        try:
            out, _ = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            out, _ = worker.communicate()
        return out or ""

    def assert_no_personal_data(self, output: str) -> None:
        self.assertIn("city311 worker", output)
        for text in PERSONAL:
            self.assertNotIn(text, output)

    def wait_for_mail(self, count: int, timeout: float = 30) -> None:
        arrived = wait_for(lambda: len(self.mailbox.messages) >= count, timeout=timeout)
        subjects = [str(m["Subject"]) for m in self.mailbox.messages]
        self.assertTrue(arrived, f"{len(subjects)} of {count} messages arrived: {subjects}")

    def pending_deliveries(self, count: int) -> None:
        """Requests whose deliveries are planned but not sent: a batch for a worker."""
        for i in range(count):
            self.report(email=f"resident{i}@example.org", phone="")
        for event in RequestEvent.objects.filter(kind="request.submitted"):
            actions.plan_deliveries(event)
        self.assertEqual(Delivery.objects.filter(status=DeliveryStatus.PENDING).count(), count)

    def test_it_tells_followers_of_every_change_in_their_language(self):
        self.parks.email = "parks-desk@city.example"
        self.parks.save()
        worker = self.start_worker()
        sr = self.report(phone="")
        lucia = actions.follow_request(sr, email="lucia@example.org", language="es")
        self.wait_for_mail(2)
        [confirm] = [m for m in self.mailbox.messages if "lucia" in str(m["To"])]
        path = re.search(r"/notifications/confirm/\S+", self.mailbox.body(confirm))
        self.assertIsNotNone(path)
        self.assertEqual(self.client.get(path.group(0)).status_code, 200)

        requests.transfer_request(sr, department=self.parks, by=self.dana, reason="Park path")
        requests.start_request(sr, by=self.pat)
        requests.add_note(sr, text="Crew booked", public=True, by=self.pat)
        requests.add_note(sr, text="Internal only", public=False, by=self.pat)
        requests.close_request(sr, resolution="completed", note="Filled", by=self.pat)
        self.wait_for_mail(10)
        closed = RequestEvent.objects.get(request=sr, kind="request.closed")
        survey = tokens.survey_path(lucia, closed)
        self.client.post(survey, {"fixed": "no", "comment": "Still a hole"})
        self.wait_for_mail(13)
        output = self.stop(worker)

        n = sr.tracking_number
        self.assertEqual(
            Counter(self.mailbox.to("rosa@example.org")),
            Counter(
                [
                    f"We received your request {n}",
                    f"Request {n} is now handled by Parks",
                    f"Work has started on request {n}",
                    f"News about request {n}",
                    f"Request {n} is closed",
                    f"Request {n} is open again",
                ]
            ),
        )
        self.assertEqual(
            Counter(self.mailbox.to("lucia@example.org")),
            Counter(
                [
                    f"Confirme: ¿seguir la solicitud {n}?",
                    f"La solicitud {n} ahora la atiende Parks",
                    f"Comenzó el trabajo en la solicitud {n}",
                    f"Novedades de la solicitud {n}",
                    f"La solicitud {n} está cerrada",
                    f"La solicitud {n} está abierta de nuevo",
                ]
            ),
        )
        self.assertEqual(
            self.mailbox.to("parks-desk@city.example"),
            [f"Request {n} was reopened by the resident"],
        )
        self.assertFalse(
            any("Internal only" in self.mailbox.body(m) for m in self.mailbox.messages)
        )
        self.assertEqual(ServiceRequest.objects.get(pk=sr.pk).status, "open")
        self.assert_no_personal_data(output)

    def test_it_retries_after_the_smtp_server_refuses(self):
        self.mailbox.refuse = 1
        worker = self.start_worker()
        sr = self.report()  # e-mail and phone: one message, by e-mail
        email = Delivery.objects.filter(request=sr, channel="email")
        self.assertTrue(
            wait_for(lambda: email.filter(attempts=1, status=DeliveryStatus.PENDING).exists())
        )
        self.assertIn("451", email.get().error)
        time.sleep(1.2)  # the first retry waits CITY311_DELIVERY_RETRY_SECONDS
        async_task("city311.notifications.tasks.sweep")  # as the scheduler does every minute
        self.wait_for_mail(1)
        output = self.stop(worker)
        delivery = email.get()
        self.assertEqual((delivery.status, delivery.attempts), (DeliveryStatus.SENT, 2))
        self.assertEqual(len(self.mailbox.messages), 1)
        summary = next(
            line["summary"] for line in deliveries_for(sr) if line["channel"] == "E-mail"
        )
        self.assertRegex(summary, r"^e-mailed \d\d:\d\d, delivered to the SMTP server$")
        self.assertFalse(Delivery.objects.filter(request=sr, channel="sms").exists())
        self.assert_no_personal_data(output)

    def test_it_keeps_one_smtp_connection_and_opens_another_when_the_server_drops_it(self):
        self.pending_deliveries(10)
        worker = self.start_worker()
        async_task("city311.notifications.tasks.send_due_deliveries")
        self.wait_for_mail(10)
        self.assertEqual(len(set(self.mailbox.connections)), 1)

        port = self.smtp.port
        self.smtp.stop()  # closes the connection the worker keeps
        self.smtp = Controller(self.mailbox, hostname="127.0.0.1", port=port)
        self.smtp.start()
        sr = ServiceRequest.objects.first()
        requests.add_note(sr, text="Crew booked", public=True, by=self.dana)
        self.wait_for_mail(11)
        output = self.stop(worker)
        note = Delivery.objects.get(kind="request.note")
        # Sent at the first attempt, on a new connection, without waiting for a retry.
        self.assertEqual((note.status, note.attempts), (DeliveryStatus.SENT, 1))
        self.assertEqual(len(set(self.mailbox.connections)), 2)
        self.assert_no_personal_data(output)

    def test_it_loses_and_duplicates_nothing_when_a_worker_is_killed_mid_batch(self):
        self.pending_deliveries(8)
        self.mailbox.hold_at = 4
        first = self.start_worker()
        async_task("city311.notifications.tasks.send_due_deliveries")
        self.assertTrue(self.mailbox.held.wait(30), "the worker never sent the 4th message")
        output = self.stop(first, signal.SIGKILL)
        self.mailbox.release.set()
        self.assertEqual(len(self.mailbox.messages), 3)
        counts = Counter(Delivery.objects.values_list("status", flat=True))
        # The dead worker had claimed all 8 in one go: the 4th and the 4 it never reached.
        self.assertEqual(counts, {DeliveryStatus.SENT: 3, DeliveryStatus.SENDING: 5})

        second = self.start_worker()
        time.sleep(2.2)  # the dead worker's claim outlives CITY311_DELIVERY_LEASE_SECONDS
        async_task("city311.notifications.tasks.sweep")
        self.wait_for_mail(8)
        time.sleep(0.5)
        output += self.stop(second)
        ids = [m["Message-ID"] for m in self.mailbox.messages]
        self.assertEqual(len(ids), 8)
        self.assertEqual(len(set(ids)), 8)
        recipients = {str(m["To"]) for m in self.mailbox.messages}
        self.assertEqual(recipients, {f"resident{i}@example.org" for i in range(8)})
        self.assertFalse(Delivery.objects.exclude(status=DeliveryStatus.SENT).exists())
        self.assert_no_personal_data(output)

    def test_it_sends_each_message_once_when_two_workers_race(self):
        self.pending_deliveries(30)
        self.mailbox.delay = 0.02
        workers = [self.start_worker(CITY311_WORKER_PROCESSES="2") for _ in range(2)]
        for _ in range(6):
            async_task("city311.notifications.tasks.send_due_deliveries")
        self.wait_for_mail(30, timeout=60)
        time.sleep(1)  # time for any second copy to arrive
        output = "".join(self.stop(w) for w in workers)
        ids = Counter(m["Message-ID"] for m in self.mailbox.messages)
        self.assertEqual(len(ids), 30)
        self.assertEqual(max(ids.values()), 1)
        self.assertEqual(
            set(Delivery.objects.values_list("status", "attempts")), {(DeliveryStatus.SENT, 1)}
        )
        self.assertFalse(Follower.objects.filter(unsubscribed_at__isnull=False).exists())
        self.assert_no_personal_data(output)
