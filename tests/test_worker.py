import os
import uuid

import pytest
from django.test import TransactionTestCase

from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.test import CityMixin
from tests.helpers import city311_env, run_city311, start_city311, stop, wait_for

REDIS_URL = os.environ.get("CITY311_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ENQUEUE = (
    "from django_q.tasks import async_task; "
    "async_task('city311.servicerequests.tasks.flag_overdue_requests')"
)


class WorkerTests(CityMixin, TransactionTestCase):
    """A real `city311 worker` process runs queued tasks, with the database or Redis as broker."""

    def setUp(self):
        self.make_city()
        self.sr = self.report()
        ServiceRequest.objects.filter(pk=self.sr.pk).update(due_at=self.sr.requested_at)

    def check_worker_runs_the_overdue_sweep(self, **env):
        env = city311_env(
            CITY311_QUEUE_NAME=f"test-{uuid.uuid4().hex[:8]}", CITY311_WORKER_PROCESSES="1", **env
        )
        worker = start_city311("worker", env=env)
        try:
            queued = run_city311("shell", "-c", ENQUEUE, env=env)
            self.assertEqual(queued.returncode, 0, queued.stderr)
            done = wait_for(
                lambda: RequestEvent.objects.filter(kind="request.overdue").exists(), timeout=60
            )
        finally:
            output = stop(worker)
        self.assertTrue(done, f"the worker did not run the task:\n{output}")
        self.assertIsNotNone(ServiceRequest.objects.get(pk=self.sr.pk).overdue_noted_at)

    def test_a_worker_runs_tasks_from_the_database_queue(self):
        self.check_worker_runs_the_overdue_sweep()

    def test_a_worker_runs_tasks_from_redis(self):
        self.check_worker_runs_the_overdue_sweep(REDIS_URL=REDIS_URL)


@pytest.mark.django_db
def test_the_overdue_sweep_is_registered_as_a_schedule():
    from django_q.models import Schedule

    from city311.ops.schedules import ensure_schedules

    ensure_schedules()
    ensure_schedules()
    assert (
        Schedule.objects.filter(func="city311.servicerequests.tasks.flag_overdue_requests").count()
        == 1
    )
