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
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test import TransactionTestCase
from django_q.tasks import async_task

from city311.notifications import actions, tasks, tokens
from city311.notifications.models import Delivery, DeliveryStatus, Follower
from city311.notifications.queries import deliveries_for
from city311.servicerequests import actions as requests
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.test import CityMixin
from tests.helpers import city311_env, free_port, wait_for

# Waits on other processes and the clock: first, so parallel workers fill the wait.
pytestmark = pytest.mark.waits

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
        self.held_message_id = ""
        self.release = threading.Event()
        self.delay = 0.0
        self.seen = 0
        self.connections: list[tuple[str, int]] = []  # the client's end of each message's
        self.on_accept: Callable[[], None] | None = None  # run as each message is accepted

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.seen += 1
            n = self.seen
            refuse = self.refuse > 0
            self.refuse -= refuse
        if refuse:
            return "451 4.3.0 Mailbox busy, try again later"
        if n == self.hold_at:
            held = message_from_bytes(envelope.content, policy=policy.default)
            self.held_message_id = str(held["Message-ID"])
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
        if self.on_accept is not None:
            self.on_accept()
        return "250 2.0.0 OK"

    def arrived(self, message_id: str) -> bool:
        with self.lock:
            return any(str(m["Message-ID"]) == message_id for m in self.messages)

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

    def test_a_restarted_worker_sends_a_killed_workers_claims_at_once_and_none_twice(self):
        # The lease is the production one (300 s): the restarted worker must not wait for it.
        self.pending_deliveries(8)
        self.mailbox.hold_at = 4
        first = self.start_worker(CITY311_DELIVERY_LEASE_SECONDS="300")
        async_task("city311.notifications.tasks.send_due_deliveries")
        self.assertTrue(self.mailbox.held.wait(30), "the worker never sent the 4th message")
        output = self.stop(first, signal.SIGKILL)
        killed = time.monotonic()
        self.mailbox.release.set()
        self.assertEqual(len(self.mailbox.messages), 3)
        counts = Counter(Delivery.objects.values_list("status", flat=True))
        # The dead worker had claimed all 8 in one go: the 4th and the 4 it never reached.
        self.assertEqual(counts, {DeliveryStatus.SENT: 3, DeliveryStatus.SENDING: 5})

        second = self.start_worker(CITY311_DELIVERY_LEASE_SECONDS="300")
        self.wait_for_mail(8, timeout=30)
        redelivered = time.monotonic() - killed
        time.sleep(0.5)  # time for any second copy to arrive
        output += self.stop(second)
        self.assertIn("5 messages claimed by a stopped worker are queued again", output)
        ids = [m["Message-ID"] for m in self.mailbox.messages]
        self.assertEqual(len(ids), 8)
        self.assertEqual(len(set(ids)), 8)
        recipients = {str(m["To"]) for m in self.mailbox.messages}
        self.assertEqual(recipients, {f"resident{i}@example.org" for i in range(8)})
        self.assertFalse(Delivery.objects.exclude(status=DeliveryStatus.SENT).exists())
        self.assert_no_personal_data(output)
        print(f"\nkill -> redelivery: {redelivered:.1f} s (lease 300 s), doubles: 0")

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


class DatabaseAwayTests(CityMixin, TransactionTestCase):
    """The database goes away just as the SMTP server accepts a message."""

    def setUp(self):
        self.make_city()
        self.mailbox = Mailbox()
        self.smtp = Controller(self.mailbox, hostname="127.0.0.1", port=free_port())
        self.smtp.start()
        self.options = dict(connection.settings_dict.get("OPTIONS", {}))
        self.timers: list[threading.Timer] = []

    def tearDown(self):
        self.smtp.stop()
        for timer in self.timers:
            timer.join()
        connection.settings_dict["OPTIONS"] = self.options
        connection.close()

    def database_away_for(self, seconds: float) -> Callable[[], None]:
        """A hook that makes the database refuse this process's next write for a while."""
        if connection.vendor == "sqlite":
            import sqlite3

            # Fail at once instead of waiting for the lock: as a restart does.
            connection.settings_dict["OPTIONS"] = {**self.options, "timeout": 0.05}
            connection.close()
            path = connection.settings_dict["NAME"]

            def lock() -> None:
                holder = sqlite3.connect(path, check_same_thread=False)
                holder.execute("BEGIN EXCLUSIVE")
                timer = threading.Timer(seconds, lambda: (holder.rollback(), holder.close()))
                self.timers.append(timer)
                timer.start()

            return lock
        import psycopg

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        params = connection.get_connection_params()

        def cut() -> None:
            with psycopg.connect(**params, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])

        return cut

    def test_a_message_accepted_while_the_database_is_away_is_marked_sent_once_it_is_back(self):
        sr = self.report(phone="")
        actions.plan_deliveries(RequestEvent.objects.get(request=sr, kind="request.submitted"))
        delivery = Delivery.objects.get(request=sr)
        self.mailbox.on_accept = self.database_away_for(1.0)
        with self.settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=self.smtp.port,
        ):
            self.mailbox.on_accept = self._once(self.mailbox.on_accept)
            sent = tasks.send_deliveries(Delivery.objects.filter(pk=delivery.pk), transports={})
        self.assertEqual(sent, 1)
        delivery.refresh_from_db()
        self.assertEqual((delivery.status, delivery.attempts), (DeliveryStatus.SENT, 1))
        self.assertEqual(len(self.mailbox.messages), 1)

    @staticmethod
    def _once(hook: Callable[[], None] | None) -> Callable[[], None]:
        done = threading.Event()

        def run() -> None:
            if hook is not None and not done.is_set():
                done.set()
                hook()

        return run
