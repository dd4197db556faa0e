"""An escalation through a real `city311 worker` (its scheduler, the event stream, the
notifications outbox) to a real SMTP server on loopback: the supervisor's mailbox hears of a
breach within 60 seconds, once. The worker looks at its schedules every 5 s here (30 s by
default, CITY311_SCHEDULER_SECONDS): the alarm at the breach and the sweeps are the same."""

from __future__ import annotations

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.test import TransactionTestCase
from django.utils import timezone
from django_q.models import Success
from django_q.tasks import async_task

from city311.servicerequests import actions
from city311.servicerequests.models import Escalation
from city311.test import CityMixin
from tests import test_notifications_worker as workers
from tests.helpers import wait_for

ESCALATE = "city311.servicerequests.tasks.escalate_requests"
# Seconds between the worker's looks at its schedules.
LOOK = 5

# Waits on other processes and the clock: first, so parallel workers fill the wait.
pytestmark = pytest.mark.waits


class EscalationWorkerTests(CityMixin, TransactionTestCase):
    # The worker tests' SMTP server and worker processes (not their tests: no class imported).
    setUp = workers.WorkerNotificationTests.setUp
    tearDown = workers.WorkerNotificationTests.tearDown
    start_worker = workers.WorkerNotificationTests.start_worker
    stop = workers.WorkerNotificationTests.stop

    def test_the_supervisor_hears_of_a_breach_within_a_minute_once(self):
        arrivals: list[float] = []
        self.mailbox.on_accept = lambda: arrivals.append(time.time())
        # Rosa reported the pothole (5 calendar days) 5 days less 12 seconds ago; Dana has it.
        # The worker's first sweep (one look after it starts) tells Dana of the 75% and sets
        # an alarm at the breach, unless the breach came first.
        with mock.patch(
            "django.utils.timezone.now",
            return_value=timezone.now() - timedelta(days=5) + timedelta(seconds=12),
        ):
            sr = self.report(phone="", email="")
        actions.assign_request(sr, to=self.dana, by=self.sofia)
        breach = sr.due_at.timestamp()

        worker = self.start_worker(CITY311_SCHEDULER_SECONDS=str(LOOK))
        to_sofia = lambda: self.mailbox.to(self.sofia.email)  # noqa: E731
        self.assertTrue(wait_for(lambda: to_sofia(), timeout=150), "no message to Sofia")
        index = next(
            i for i, m in enumerate(self.mailbox.messages) if self.sofia.email in str(m["To"])
        )
        late = arrivals[index] - breach
        self.assertLess(late, 60, f"told {late:.0f} s after the breach")
        self.assertGreaterEqual(late, 0)
        # Another sweep runs, as the schedule's each minute: nothing is told twice.
        sweeps = lambda: Success.objects.filter(func=ESCALATE).count()  # noqa: E731
        before = sweeps()
        async_task(ESCALATE)
        self.assertTrue(wait_for(lambda: sweeps() > before, timeout=60), "no other sweep ran")
        time.sleep(2 * LOOK)  # what it might have told has time to arrive
        self.stop(worker)
        self.assertEqual(len(to_sofia()), 1, to_sofia())
        self.assertIn(f"Overdue: request {sr.tracking_number}", to_sofia()[0])
        self.assertEqual(len(self.mailbox.to(self.dana.email)), 1)  # the 75% warning
        self.assertEqual(
            sorted(Escalation.objects.filter(request=sr).values_list("percent", flat=True)),
            [75, 100],
        )
        print(f"\nEscalation e-mail reached the supervisor {late:.1f} s after the breach")
