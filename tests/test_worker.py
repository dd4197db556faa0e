import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
import redis
from django.test import TransactionTestCase
from django_q import core_signing
from django_q.conf import Conf
from django_q.models import OrmQ, Success
from django_q.signing import PickleSerializer

from city311.notifications.models import Delivery
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.test import CityMixin
from tests.helpers import city311_env, run_city311, start_city311, stop, wait_for
from tests.processes import descendants

# Waits on other processes and the clock: first, so parallel workers fill the wait.
pytestmark = pytest.mark.waits

REDIS_URL = os.environ.get("CITY311_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ENQUEUE = (
    "from django_q.tasks import async_task; "
    "async_task('city311.servicerequests.tasks.flag_overdue_requests')"
)
# A task that holds its worker long after Ctrl-C, as training the suggestion model does.
SLEEP = "from django_q.tasks import async_task; async_task('time.sleep', 100)"


def task_function(package: bytes, queue: str) -> str:
    """The function a queued task runs (a package is signed with its queue's name)."""
    task = core_signing.loads(
        package.decode(), key=Conf.SECRET_KEY, salt=queue, serializer=PickleSerializer
    )
    return task["func"]


DISPATCH = "city311.servicerequests.tasks.dispatch_events"
ADD_NOTE = (
    "from city311.servicerequests.actions import add_note; "
    "from city311.servicerequests.models import ServiceRequest; "
    "add_note(ServiceRequest.objects.get(pk={pk}), text='Crew booked', public=True, by=None)"
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
        # The queue's line for every task taken is not in the terminal (it buried what the
        # command says); city311's own lines are.
        self.assertIn("city311 worker: taking tasks", output)
        self.assertNotIn("Processed '", output)

    def test_a_worker_runs_tasks_from_the_database_queue(self):
        self.check_worker_runs_the_overdue_sweep()

    def test_a_worker_and_its_processes_run_at_a_lower_cpu_priority_than_the_web(self):
        # Rosa's page must not wait behind the worker catching up with a burst of filings.
        env = city311_env(
            CITY311_QUEUE_NAME=f"test-{uuid.uuid4().hex[:8]}",
            CITY311_WORKER_PROCESSES="2",
            CITY311_WORKER_NICE="5",
        )
        # Started 5 below the ceiling (19), so that the worker's own step shows; lowering a
        # niceness (a test run under `nice -n 19`) needs root, which CI has.
        base = min(os.getpriority(os.PRIO_PROCESS, 0), 14)
        worker = subprocess.Popen(
            [sys.executable, "-m", "city311", "worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, base),
        )
        try:
            # The cluster: its sentinel, pusher, monitor and two task processes.
            started = wait_for(lambda: len(descendants(worker.pid)) >= 5, timeout=60)
            pids = [worker.pid, *descendants(worker.pid)]
            niceness = {os.getpriority(os.PRIO_PROCESS, pid) for pid in pids}
        finally:
            output = stop(worker)
        self.assertTrue(started, f"the worker's cluster did not start:\n{output}")
        self.assertEqual(niceness, {base + 5})
        self.assertIn(f"lower CPU priority (nice {base + 5}, CITY311_WORKER_NICE=5)", output)

    def test_a_worker_runs_tasks_from_redis(self):
        self.check_worker_runs_the_overdue_sweep(REDIS_URL=REDIS_URL)

    def test_a_commit_on_a_redis_queue_wakes_a_worker_that_runs_the_event_stream(self):
        # Dana's note is written by another process whose queue is Redis: its wake-up is pushed
        # after commit, and the worker's dispatch hands the note to notifications.
        env = city311_env(
            CITY311_QUEUE_NAME=f"test-{uuid.uuid4().hex[:8]}",
            CITY311_WORKER_PROCESSES="1",
            REDIS_URL=REDIS_URL,
            # The worker's first look at its schedules 5 s after it starts, not 30.
            CITY311_SCHEDULER_SECONDS="5",
        )
        worker = start_city311("worker", env=env)
        try:
            # The schedule's first dispatch runs at the worker's first look; the next is a
            # minute on, so a note planned sooner than that was woken for.
            started = wait_for(lambda: Success.objects.filter(func=DISPATCH).exists(), timeout=60)
            self.assertTrue(started, "the worker never ran its scheduled dispatch")
            written = run_city311("shell", "-c", ADD_NOTE.format(pk=self.sr.pk), env=env)
            self.assertEqual(written.returncode, 0, written.stderr)
            planned = wait_for(
                lambda: Delivery.objects.filter(request=self.sr, kind="request.note").exists(),
                timeout=25,
            )
        finally:
            output = stop(worker)
        self.assertTrue(planned, f"the worker did not run the event stream:\n{output}")

    def test_a_burst_of_commits_on_redis_queues_one_dispatch_and_every_note_is_heard(self):
        # Five notes in five commits, faster than any worker: one wake-up is queued, the
        # others find it pending; the one dispatch hands all five to notifications.
        queue = f"test-{uuid.uuid4().hex[:8]}"
        env = city311_env(
            CITY311_QUEUE_NAME=queue, CITY311_WORKER_PROCESSES="1", REDIS_URL=REDIS_URL
        )
        burst = "; ".join([ADD_NOTE.format(pk=self.sr.pk)] * 5)
        written = run_city311("shell", "-c", burst, env=env)
        self.assertEqual(written.returncode, 0, written.stderr)
        client = redis.Redis.from_url(REDIS_URL)
        try:
            self.assertEqual(client.llen(f"django_q:{queue}:q"), 1)
            worker = start_city311("worker", env=env)
            try:
                heard = wait_for(
                    lambda: (
                        Delivery.objects.filter(request=self.sr, kind="request.note").count() == 5
                    ),
                    timeout=60,
                )
            finally:
                output = stop(worker)
            self.assertTrue(heard, f"not every note was planned:\n{output}")
        finally:
            for key in client.scan_iter(f"*{queue}*"):
                client.delete(key)

    def test_a_burst_of_commits_on_the_database_queue_queues_one_dispatch_and_every_note_is_heard(
        self,
    ):
        # Five notes in five commits of one process, no Redis: the first queues a dispatch
        # and the four after it join that one; the worker's one dispatch hands all five on.
        queue = f"test-{uuid.uuid4().hex[:8]}"
        # Long enough for the five commits on a busy machine.
        env = city311_env(
            CITY311_QUEUE_NAME=queue,
            CITY311_WORKER_PROCESSES="1",
            CITY311_STREAM_GATHER_MS="5000",
        )
        burst = "; ".join([ADD_NOTE.format(pk=self.sr.pk)] * 5)
        written = run_city311("shell", "-c", burst, env=env)
        self.assertEqual(written.returncode, 0, written.stderr)
        queued = [task_function(t.payload.encode(), queue) for t in OrmQ.objects.filter(key=queue)]
        self.assertEqual(queued, [DISPATCH])
        worker = start_city311("worker", env=env)
        try:
            heard = wait_for(
                lambda: Delivery.objects.filter(request=self.sr, kind="request.note").count() == 5,
                timeout=60,
            )
        finally:
            output = stop(worker)
        self.assertTrue(heard, f"not every note was planned:\n{output}")

    def test_ctrl_c_puts_the_task_in_hand_back_on_the_redis_queue(self):
        queue = f"test-{uuid.uuid4().hex[:8]}"
        env = city311_env(
            CITY311_QUEUE_NAME=queue, CITY311_WORKER_PROCESSES="1", REDIS_URL=REDIS_URL
        )
        client = redis.Redis.from_url(REDIS_URL)
        waiting = f"django_q:{queue}:q"

        def held() -> list[bytes]:
            return [
                t
                for key in client.scan_iter(f"{waiting}:held:*")
                for t in client.lrange(key, 0, -1)
            ]

        def sleeping_in_hand() -> bool:
            tasks = held()
            return len(tasks) == 1 and task_function(tasks[0], queue) == "time.sleep"

        try:
            worker = start_city311("worker", env=env)
            try:
                queued = run_city311("shell", "-c", SLEEP, env=env)
                self.assertEqual(queued.returncode, 0, queued.stderr)
                in_hand = wait_for(sleeping_in_hand, timeout=60)
            finally:
                output = stop(worker, signal.SIGINT)
            self.assertTrue(in_hand, f"the worker never took the task:\n{output}")
            self.assertEqual(worker.returncode, 0, output)
            self.assertIn("were ended and are queued again for the next start: 1.", output)
            # Back on the queue, first in line for the next worker; held by no one.
            self.assertEqual(held(), [])
            first = client.lindex(waiting, 0)
            self.assertEqual(task_function(first, queue), "time.sleep")
        finally:
            for key in client.scan_iter(f"*{queue}*"):
                client.delete(key)

    def test_a_worker_killed_with_a_task_in_hand_hands_it_back_at_the_next_start(self):
        queue = f"test-{uuid.uuid4().hex[:8]}"
        env = city311_env(
            CITY311_QUEUE_NAME=queue, CITY311_WORKER_PROCESSES="1", REDIS_URL=REDIS_URL
        )
        client = redis.Redis.from_url(REDIS_URL)
        waiting = f"django_q:{queue}:q"
        try:
            # A cluster that died (its machine's power cut) left the overdue sweep in hand:
            # its sentinel's process id names no running process.
            queued = run_city311("shell", "-c", ENQUEUE, env=env)
            self.assertEqual(queued.returncode, 0, queued.stderr)
            dead = run_city311(
                "shell",
                "-c",
                "from city311.lib.outbox import process_holder; import os; "
                "print(process_holder(os.getpid()))",
                env=env,
            )
            holder = dead.stdout.strip().splitlines()[-1]
            client.lmove(waiting, f"{waiting}:held:{holder}", "LEFT", "RIGHT")
            worker = start_city311("worker", env=env)
            try:
                done = wait_for(
                    lambda: RequestEvent.objects.filter(kind="request.overdue").exists(),
                    timeout=60,
                )
            finally:
                output = stop(worker, signal.SIGINT)
            self.assertIn("tasks a stopped worker had in hand, queued again: 1.", output)
            self.assertTrue(done, f"the task in hand was not run again:\n{output}")
        finally:
            for key in client.scan_iter(f"*{queue}*"):
                client.delete(key)

    def test_a_task_held_by_a_worker_killed_on_another_machine_goes_to_a_running_worker(self):
        queue = f"test-{uuid.uuid4().hex[:8]}"
        env = city311_env(
            CITY311_QUEUE_NAME=queue,
            CITY311_WORKER_PROCESSES="1",
            REDIS_URL=REDIS_URL,
            CITY311_TASK_LEASE_SECONDS="3",
            # No scheduled task joins the one counted: on a loaded machine the test outlasted
            # the workers' first look (30 s), and the far worker held 3 tasks, not 1.
            CITY311_SCHEDULER_SECONDS="3600",
        )
        client = redis.Redis.from_url(REDIS_URL)
        waiting = f"django_q:{queue}:q"

        def holding_the_sleep() -> list[str]:
            return [
                key.decode()
                for key in client.scan_iter(f"{waiting}:held:*")
                if any(task_function(t, queue) == "time.sleep" for t in client.lrange(key, 0, -1))
            ]

        # Another machine: a worker in its own process namespace, whose process ids mean
        # nothing here (as a worker's on another host); killed, with all it started, as a
        # machine is lost.
        far = subprocess.Popen(
            [*ANOTHER_MACHINE, sys.executable, "-m", "city311", "worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        near = None
        try:
            queued = run_city311("shell", "-c", SLEEP, env=env)
            self.assertEqual(queued.returncode, 0, queued.stderr)
            self.assertTrue(wait_for(lambda: len(holding_the_sleep()) == 1, timeout=60))
            [far_list] = holding_the_sleep()
            near = start_city311("worker", env=env)
            self.assertTrue(
                wait_for(lambda: len(list(client.scan_iter(f"{waiting}:lease:*"))) == 2, 60),
                "the worker here never took its lease",
            )
            # While the far worker runs, its lease is renewed: its task stays in its hands
            # longer than a lease lasts (a wait for something not to happen).
            time.sleep(4)
            self.assertEqual(holding_the_sleep(), [far_list])
            os.killpg(far.pid, signal.SIGKILL)
            far.wait(10)
            handed = wait_for(lambda: holding_the_sleep() not in ([], [far_list]), timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(far.pid, signal.SIGKILL)
            far_output = stop(far)
            near_output = stop(near, signal.SIGINT) if near is not None else ""
            for key in client.scan_iter(f"*{queue}*"):
                client.delete(key)
        self.assertTrue(handed, f"not handed on:\n{near_output}\n--- far:\n{far_output}")
        self.assertIn("tasks a stopped worker had in hand, queued again: 1.", near_output)


# A process namespace of its own (and a user namespace, so it needs no root), ended with the
# process that started it.
ANOTHER_MACHINE = [
    "unshare",
    "--user",
    "--map-root-user",
    "--pid",
    "--fork",
    "--mount-proc",
    "--kill-child",
]


def test_a_worker_told_an_impossible_priority_says_what_is_wrong():
    env = city311_env(CITY311_QUEUE_NAME=f"test-{uuid.uuid4().hex[:8]}")
    for value, why in (
        ("20", "CITY311_WORKER_NICE=20 is too large: it must be at most 19."),
        ("-5", "CITY311_WORKER_NICE=-5 is too small: it must be at least 0."),
        ("low", "CITY311_WORKER_NICE='low' is not a whole number."),
    ):
        ran = run_city311("worker", env={**env, "CITY311_WORKER_NICE": value}, timeout=30)
        assert ran.returncode != 0, value
        assert why in ran.stderr


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


@pytest.mark.django_db
def test_the_daily_tasks_first_run_at_night_and_the_frequent_ones_at_once():
    # A new worker used to retrain the suggestion model the moment it started, beside the
    # demo's own first training: two trainings on a machine still loading the demo city.
    from django.utils import timezone
    from django_q.models import Schedule

    from city311.ops.schedules import NIGHTLY_HOUR, ensure_schedules

    before = timezone.now()
    ensure_schedules()
    retrain = Schedule.objects.get(func="city311.catalog.classifier.retrain")
    local = timezone.localtime(retrain.next_run)
    assert (local.hour, local.minute) == (NIGHTLY_HOUR, 0)
    assert before < retrain.next_run <= before + timedelta(days=1)
    sweep = Schedule.objects.get(func="city311.servicerequests.tasks.flag_overdue_requests")
    assert sweep.next_run <= timezone.now()
    # Registering again (every worker start) leaves the night's run where it was.
    Schedule.objects.filter(pk=retrain.pk).update(next_run=before + timedelta(hours=1))
    ensure_schedules()
    assert Schedule.objects.get(pk=retrain.pk).next_run == before + timedelta(hours=1)
