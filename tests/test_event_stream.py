"""The event stream (servicerequests/stream.py) and the outbox (lib/outbox.py).

Consumers here record what they are given. The stream is run as the worker runs it, by calling
the dispatch task; tests/test_notifications_worker.py runs it in real worker processes.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from unittest import mock

import redis
from django.conf import settings
from django.db import connection, transaction
from django.test import TestCase, TransactionTestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from city311.lib import outbox
from city311.notifications.models import Delivery, DeliveryStatus, Follower
from city311.ops.taskqueue import HeldRedis
from city311.servicerequests import actions, stream
from city311.servicerequests.models import (
    ConsumedEvent,
    ConsumerCursor,
    RequestEvent,
    ServiceRequest,
)
from city311.servicerequests.tasks import dispatch_events
from city311.test import CityMixin
from tests.helpers import meanwhile, wait_for


class Recorder:
    """A consumer's handler that keeps what it was given, and can fail the first few times."""

    def __init__(self, failures: int = 0) -> None:
        self.given: list[RequestEvent] = []
        self.failures = failures

    def __call__(self, events: Sequence[RequestEvent]) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the rollup database is down")
        self.given += events

    @property
    def ids(self) -> list[int]:
        return [e.pk for e in self.given]


class StreamTestCase(CityMixin, TransactionTestCase):
    """Transactions commit for real here, so wake-ups run after commit as in production."""

    def setUp(self):
        self.make_city()

    def consumer(self, name: str, *, start: str = stream.REPLAY, failures: int = 0) -> Recorder:
        recorder = Recorder(failures)
        stream.register(stream.Consumer(name=name, handle=recorder, start=start))
        self.addCleanup(stream.unregister, name)
        return recorder

    def rosa_reports_and_dana_works(self) -> ServiceRequest:
        sr = self.report()
        actions.start_request(sr, by=self.dana, note="Crew on site")
        actions.add_note(sr, text="Asphalt arrives Tuesday", public=True, by=self.dana)
        actions.close_request(sr, resolution="completed", note="Filled", by=self.dana)
        return sr

    def queued_wake_ups(self) -> int:
        return sum(1 for task in OrmQ.objects.all() if task.func() == stream.WAKE_TASK)

    def run_queued_dispatches(self, limit: int) -> int:
        """Run the dispatches queued in the database, oldest first, as a worker would (those
        they queue too), at most `limit`; how many ran."""
        for ran in range(limit):
            task = next(
                (t for t in OrmQ.objects.order_by("pk") if t.func() == stream.WAKE_TASK), None
            )
            if task is None:
                return ran
            task.delete()
            dispatch_events(*task.task["args"], **task.task["kwargs"])
        return limit


class DeliveryTests(StreamTestCase):
    def test_a_consumers_first_run_woken_by_a_commit_reads_from_its_start(self):
        # Rosa's filing was woken for before the consumer existed. Its first run, woken by
        # Dana's note, reads the filing too, and first (a note's follower comes from it).
        sr = self.report()
        rollup = self.consumer("rollup")
        actions.add_note(sr, text="Crew booked", public=True, by=self.dana)
        dispatch_events(RequestEvent.objects.filter(request=sr).latest("pk").pk)
        every = list(RequestEvent.objects.order_by("pk").values_list("pk", flat=True))
        self.assertEqual(rollup.ids, every)

    def test_two_consumers_each_see_every_event_once_in_order_per_request(self):
        rollup, audit = self.consumer("rollup"), self.consumer("audit")
        first = self.rosa_reports_and_dana_works()
        dispatch_events()
        second = self.rosa_reports_and_dana_works()
        actions.reopen_request(first, reason="Still a hole", by=self.dana)
        dispatch_events()
        dispatch_events()  # nothing new: nobody is given anything twice
        every = list(RequestEvent.objects.order_by("pk").values_list("pk", flat=True))
        self.assertGreater(len(every), 8)
        for recorder in (rollup, audit):
            self.assertEqual(sorted(recorder.ids), every)
            self.assertEqual(max(Counter(recorder.ids).values()), 1)
            for sr in (first, second):
                history = [e.pk for e in recorder.given if e.request_id == sr.pk]
                self.assertEqual(history, sorted(history))

    def test_a_backlog_longer_than_one_task_is_read_on_by_the_next_task_not_from_its_start(self):
        # A burst of filings left more events than one dispatch task reads in its time (here
        # one batch of two): each task queued behind it reads on from where it stopped. Reading
        # again from the burst's first event, the tasks re-read what was handled and never got
        # further than the first batch.
        rollup = Recorder()
        stream.register(stream.Consumer(name="rollup", handle=rollup, batch=2))
        self.addCleanup(stream.unregister, "rollup")
        dispatch_events()
        burst = [self.report() for _ in range(3)]
        first = RequestEvent.objects.filter(request=burst[0]).order_by("pk").first().pk
        waiting = list(
            RequestEvent.objects.filter(pk__gte=first).order_by("pk").values_list("pk", flat=True)
        )
        OrmQ.objects.all().delete()  # the burst's own wake-ups: the first is run here
        with override_settings(CITY311_STREAM_TASK_SECONDS=0):
            dispatch_events(first)
            tasks = self.run_queued_dispatches(limit=3 * len(waiting))
        self.assertEqual([pk for pk in rollup.ids if pk >= first], waiting)
        self.assertLessEqual(1 + tasks, len(waiting) // 2 + 1)

    def test_a_consumer_reads_only_the_kinds_it_names(self):
        closures = Recorder()
        stream.register(
            stream.Consumer(name="closures", handle=closures, kinds=frozenset({"request.closed"}))
        )
        self.addCleanup(stream.unregister, "closures")
        sr = self.rosa_reports_and_dana_works()
        dispatch_events()
        self.assertEqual(
            [(e.request_id, e.kind) for e in closures.given], [(sr.pk, "request.closed")]
        )

    def test_a_consumer_not_woken_by_commits_reads_at_the_schedules_run(self):
        lines, rollup = Recorder(), self.consumer("rollup")
        stream.register(
            stream.Consumer(name="lines", handle=lines, start=stream.REPLAY, woken=False)
        )
        self.addCleanup(stream.unregister, "lines")
        sr = self.report()
        first = RequestEvent.objects.filter(request=sr).order_by("pk").first().pk
        dispatch_events(since=first)  # the commit's wake-up
        self.assertEqual(lines.given, [])
        self.assertEqual(len(rollup.given), RequestEvent.objects.count())
        dispatch_events()  # the schedule's, every minute
        self.assertEqual(lines.ids, rollup.ids)

    def test_a_consumer_added_later_from_now_hears_nothing_of_last_years_events(self):
        old = self.rosa_reports_and_dana_works()
        RequestEvent.objects.update(at=timezone.now() - timedelta(days=365))
        reminders = self.consumer("reminders", start=stream.FROM_NOW)
        dispatch_events()
        self.assertEqual(reminders.given, [])
        actions.reopen_request(old, reason="Still a hole", by=self.dana)
        dispatch_events()
        self.assertEqual([e.kind for e in reminders.given], ["request.reopened"])

    def test_a_consumer_added_later_from_now_still_hears_the_commit_that_woke_it(self):
        sr = self.report()
        escalations = self.consumer("escalations", start=stream.FROM_NOW)
        dispatch_events()
        self.assertEqual(
            [e.kind for e in escalations.given], ["request.submitted", "request.routed"]
        )
        self.assertEqual({e.request_id for e in escalations.given}, {sr.pk})

    def test_a_consumer_added_later_to_replay_reads_the_whole_history(self):
        self.rosa_reports_and_dana_works()
        RequestEvent.objects.update(at=timezone.now() - timedelta(days=365))
        dispatch_events()  # before it exists
        rollup = self.consumer("rollup", start=stream.REPLAY)
        dispatch_events()
        self.assertEqual(
            rollup.ids, list(RequestEvent.objects.order_by("pk").values_list("pk", flat=True))
        )

    def test_a_rolled_back_transaction_is_neither_woken_for_nor_delivered(self):
        rollup = self.consumer("rollup")
        sr = self.report()
        dispatch_events()
        before = self.queued_wake_ups()
        with self.assertRaises(RuntimeError), transaction.atomic():
            actions.add_note(sr, text="Never happened", public=True, by=self.dana)
            raise RuntimeError("the crew app timed out")
        self.assertEqual(self.queued_wake_ups(), before)
        dispatch_events()
        self.assertNotIn("request.note", [e.kind for e in rollup.given])

    def test_an_event_whose_lower_id_becomes_visible_after_a_higher_one_is_still_delivered(self):
        # Ids are handed out before commit: a transaction that took id n + 2 can commit after
        # the one that took n + 5 was read. Written here with those ids, in that order, each
        # followed by the dispatch its commit wakes (which reads from its first event's id).
        rollup = self.consumer("rollup")
        sr = self.report()
        dispatch_events()
        top = RequestEvent.objects.order_by("-pk").first().pk
        RequestEvent.objects.create(pk=top + 5, request=sr, kind="request.note", note="later")
        dispatch_events(since=top + 5)
        RequestEvent.objects.create(pk=top + 2, request=sr, kind="request.note", note="earlier")
        dispatch_events(since=top + 2)
        self.assertEqual(rollup.ids[-2:], [top + 5, top + 2])
        dispatch_events()  # the schedule's, from the cursor: nothing twice
        self.assertEqual(max(Counter(rollup.ids).values()), 1)

    def test_the_scheduled_dispatch_finds_an_event_whose_wake_up_was_lost(self):
        rollup = self.consumer("rollup")
        sr = self.report()
        dispatch_events()
        top = RequestEvent.objects.order_by("-pk").first().pk
        RequestEvent.objects.create(pk=top + 5, request=sr, kind="request.note", note="later")
        dispatch_events(since=top + 5)
        RequestEvent.objects.create(pk=top + 2, request=sr, kind="request.note", note="lost")
        dispatch_events(since=top + 7)  # another commit's wake-up does not look back
        self.assertNotIn(top + 2, rollup.ids)
        dispatch_events()
        self.assertEqual(rollup.ids[-1], top + 2)

    @override_settings(CITY311_STREAM_SETTLE_SECONDS=0)
    def test_once_ids_have_settled_the_cursor_moves_past_them_and_forgets_them(self):
        rollup = self.consumer("rollup")
        self.rosa_reports_and_dana_works()
        for _ in range(3):
            dispatch_events()
        cursor = ConsumerCursor.objects.get(name="rollup")
        self.assertEqual(cursor.done_upto, RequestEvent.objects.order_by("-pk").first().pk)
        self.assertFalse(ConsumedEvent.objects.filter(consumer="rollup").exists())
        self.assertEqual(len(rollup.ids), RequestEvent.objects.count())

    def test_a_failing_consumer_does_not_stop_the_others_and_is_tried_again(self):
        with self.assertLogs("city311.servicerequests.stream", "ERROR") as logs:
            flaky = self.consumer("a-flaky", failures=1)
            steady = self.consumer("b-steady")
            self.rosa_reports_and_dana_works()
            dispatch_events()
        self.assertEqual(flaky.given, [])
        self.assertEqual(len(steady.given), RequestEvent.objects.count())
        cursor = ConsumerCursor.objects.get(name="a-flaky")
        self.assertEqual(cursor.failures, 1)
        self.assertIn("RuntimeError", cursor.error)
        self.assertNotIn("rollup database", " ".join(logs.output))  # the text may quote anyone
        dispatch_events()
        self.assertEqual(flaky.ids, steady.ids)
        cursor.refresh_from_db()
        self.assertEqual((cursor.failures, cursor.error), (0, ""))

    def test_consumers_woken_by_one_commit_share_one_read_of_its_events(self):
        recorders = [self.consumer(name) for name in ("audit", "rollup", "tally")]
        self.report()
        dispatch_events()
        sr = self.report()
        since = RequestEvent.objects.filter(request=sr).order_by("pk").first().pk
        with CaptureQueriesContext(connection) as queries:
            dispatch_events(since)
        mine = [e.pk for e in RequestEvent.objects.filter(request=sr).order_by("pk")]
        for recorder in recorders:
            self.assertEqual(recorder.ids[-len(mine) :], mine)
        # Eight consumers here (the city's own and these three): a look, the newest id, the
        # batch and the report rollup's own read, whatever their number; not three reads each.
        reads = [q for q in queries if 'FROM "servicerequests_requestevent"' in q["sql"]]
        self.assertLessEqual(len(reads), 4, [q["sql"][:80] for q in reads])

    def test_a_failing_consumer_woken_with_others_takes_back_only_its_own_writes(self):
        def half_then_fail(events: Sequence[RequestEvent]) -> None:
            ConsumedEvent.objects.create(consumer="scratch", event=events[0])
            raise RuntimeError("the rollup database is down")

        stream.register(stream.Consumer(name="a-failing", handle=half_then_fail))
        self.addCleanup(stream.unregister, "a-failing")
        steady = self.consumer("b-steady")
        self.report()
        dispatch_events()
        sr = self.report()
        since = RequestEvent.objects.filter(request=sr).order_by("pk").first().pk
        with self.assertLogs("city311.servicerequests.stream", "ERROR"):
            dispatch_events(since)
        self.assertFalse(ConsumedEvent.objects.filter(consumer="scratch").exists())
        self.assertIn(sr.pk, {e.request_id for e in steady.given})
        self.assertEqual(ConsumerCursor.objects.get(name="a-failing").failures, 2)
        self.assertEqual(ConsumerCursor.objects.get(name="b-steady").failures, 0)

    def test_a_long_replay_lets_another_writer_in_between_its_batches(self):
        # A consumer replaying history writes batch after batch; a resident's filing waiting
        # for the database (SQLite has one writer at a time) gets in between two of them, not
        # after the whole replay.
        for _ in range(4):
            self.report()
        dispatch_events()

        def slow(events: Sequence[RequestEvent]) -> None:
            ConsumedEvent.objects.create(consumer="slow-scratch", event=events[0])
            time.sleep(0.3)

        stream.register(stream.Consumer(name="slow", handle=slow, batch=1))
        self.addCleanup(stream.unregister, "slow")
        first_batch = ConsumedEvent.objects.filter(consumer="slow-scratch").exists
        with meanwhile(dispatch_events, started=first_batch) as replay:
            self.report()
            self.assertTrue(replay.is_alive(), "the filing waited for the whole replay")

    def test_a_failing_then_is_logged_without_its_text_and_the_events_stay_handled(self):
        def send() -> None:
            raise RuntimeError("could not reach rosa@example.org")

        rollup = Recorder()
        stream.register(stream.Consumer(name="rollup", handle=rollup, then=send))
        self.addCleanup(stream.unregister, "rollup")
        self.report()
        with self.assertLogs("city311.servicerequests.stream", "ERROR") as logs:
            dispatch_events()
        self.assertEqual(len(rollup.given), 2)
        self.assertIn("RuntimeError", " ".join(logs.output))
        self.assertNotIn("rosa@example.org", " ".join(logs.output))
        dispatch_events()
        self.assertEqual(len(rollup.given), 2)


REDIS_URL = os.environ.get("CITY311_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class RedisQueueTests(StreamTestCase):
    """With REDIS_URL the queue is on Redis, and a burst of commits queues one dispatch."""

    def setUp(self):
        super().setUp()
        queue = f"test-{uuid.uuid4().hex[:8]}"
        redis_settings = override_settings(
            REDIS_URL=REDIS_URL,
            Q_CLUSTER={**settings.Q_CLUSTER, "name": queue},
            CITY311_STREAM_GATHER_MS=0,
            # Told in the committing thread, so what a commit queued is there when it returns.
            CITY311_STREAM_WAKE_MS=0,
        )
        redis_settings.enable()
        self.addCleanup(redis_settings.disable)
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.broker = HeldRedis(list_key=queue)
        self.broker.connection = self.redis
        patch = mock.patch.object(stream, "_broker", lambda: self.broker)
        patch.start()
        self.addCleanup(patch.stop)
        self.addCleanup(lambda: [self.redis.delete(k) for k in self.redis.scan_iter(f"*{queue}*")])

    def run_queued(self) -> int:
        """Run the dispatches queued on Redis, as a worker would; how many there were."""
        tasks = self.redis.lrange(self.broker.list_key, 0, -1)
        self.redis.delete(self.broker.list_key)
        for package in tasks:
            task = SignedPackage.loads(package)
            self.assertEqual(task["func"], stream.WAKE_TASK)
            dispatch_events(*task["args"], **task["kwargs"])
        return len(tasks)

    def test_a_burst_of_commits_queues_one_dispatch_that_reads_every_one(self):
        rollup = self.consumer("rollup")
        first = self.report()
        second = self.report()
        self.assertEqual(self.run_queued(), 1)
        self.assertEqual(
            {e.request_id for e in rollup.given}, {first.pk, second.pk}, "both filings read"
        )
        # The key went with the dispatch: the next commit queues a dispatch of its own.
        actions.add_note(first, text="Crew on site", public=True, by=self.dana)
        self.assertEqual(self.run_queued(), 1)
        self.assertEqual(rollup.given[-1].kind, "request.note")

    def test_a_commit_whose_lower_ids_commit_after_higher_ones_is_read_by_the_bursts_dispatch(
        self,
    ):
        # Ids are handed out before commit: a transaction that took id n + 2 can commit after
        # the one that took n + 5 queued the dispatch. It finds the dispatch queued and queues
        # nothing; the dispatch still reads from n + 2.
        rollup = self.consumer("rollup")
        sr = self.report()
        self.run_queued()
        top = RequestEvent.objects.order_by("-pk").first().pk
        with transaction.atomic():
            RequestEvent.objects.create(pk=top + 5, request=sr, kind="request.note", note="5")
            stream.wake_on_commit(top + 5)
        with transaction.atomic():
            RequestEvent.objects.create(pk=top + 2, request=sr, kind="request.note", note="2")
            stream.wake_on_commit(top + 2)
        self.assertEqual(self.run_queued(), 1)
        self.assertEqual(sorted(rollup.ids[-2:]), [top + 2, top + 5])

    def test_a_dispatch_whose_key_expired_reads_from_every_cursor(self):
        # A worker late past the key's lifetime: the commits it was queued for are still read.
        rollup = self.consumer("rollup")
        sr = self.report()
        self.redis.delete(stream._pending_key())
        self.assertEqual(self.run_queued(), 1)
        self.assertEqual({e.request_id for e in rollup.given}, {sr.pk})

    def test_a_burst_of_commits_in_one_process_is_told_to_redis_together_and_all_is_read(self):
        # The first filing is told at once and queues the dispatch; the four during the
        # interval after it are told together when it is up, and queue nothing more.
        rollup = self.consumer("rollup")
        with override_settings(CITY311_STREAM_WAKE_MS=300):
            filed = [self.report(description=f"Hole {n}") for n in range(5)]
            time.sleep(1)
            self.assertEqual(self.run_queued(), 1)
            self.assertEqual({e.request_id for e in rollup.given}, {sr.pk for sr in filed})
            # The process's thread goes on telling: a later filing is heard too.
            later = self.report(description="Hole 6")
            self.assertTrue(wait_for(lambda: self.redis.llen(self.broker.list_key), 10))
            self.run_queued()
            self.assertIn(later.pk, {e.request_id for e in rollup.given})

    def test_a_process_ending_right_after_its_commit_still_tells_redis(self):
        # A command's process commits and ends at once: at exit it waits for its thread,
        # which is still telling Redis of that commit, instead of ending it half way.
        real = stream._tell_redis
        telling = threading.Event()

        def slow(since: int) -> None:
            telling.set()
            time.sleep(0.5)
            real(since)

        with (
            override_settings(CITY311_STREAM_WAKE_MS=300),
            mock.patch.object(stream, "_tell_redis", slow),
        ):
            self.report()
            self.assertTrue(telling.wait(5), "the process's thread never began telling Redis")
            stream._waker.flush()  # what the process runs at exit
            self.assertEqual(self.redis.llen(self.broker.list_key), 1, "the dispatch is queued")

    def test_a_commit_wakes_only_the_consumers_woken_by_commits(self):
        lines, rollup = Recorder(), self.consumer("rollup")
        stream.register(
            stream.Consumer(name="lines", handle=lines, start=stream.REPLAY, woken=False)
        )
        self.addCleanup(stream.unregister, "lines")
        self.report()
        self.run_queued()
        self.assertEqual(lines.given, [])
        self.assertEqual(len(rollup.given), RequestEvent.objects.count())
        dispatch_events()  # the schedule's, every minute
        self.assertEqual(lines.ids, rollup.ids)


# No time to gather: each commit queues its own dispatch, as one commit after a quiet spell does.
@override_settings(CITY311_STREAM_GATHER_MS=0)
class WakeUpTests(StreamTestCase):
    def test_a_transaction_writing_five_events_queues_one_wake_up(self):
        sr = self.report()
        before = self.queued_wake_ups()
        with transaction.atomic():
            for n in range(5):
                actions.add_note(sr, text=f"Update {n}", public=True, by=self.dana)
        self.assertEqual(self.queued_wake_ups(), before + 1)
        first = RequestEvent.objects.filter(kind="request.note").order_by("pk").first()
        self.assertEqual(OrmQ.objects.order_by("-pk").first().args(), (first.pk,))

    def test_each_commit_queues_its_own_wake_up(self):
        sr = self.report()
        before = self.queued_wake_ups()
        actions.add_note(sr, text="One", public=True, by=self.dana)
        actions.add_note(sr, text="Two", public=True, by=self.dana)
        self.assertEqual(self.queued_wake_ups(), before + 2)

    def test_an_event_after_a_rolled_back_savepoint_still_wakes_the_stream(self):
        sr = self.report()
        before = self.queued_wake_ups()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    actions.add_note(sr, text="Undone", public=True, by=self.dana)
                    raise RuntimeError
            except RuntimeError:
                pass
            actions.add_note(sr, text="Kept", public=True, by=self.dana)
        self.assertEqual(self.queued_wake_ups(), before + 1)


# Commits within a minute of each other gather, so that the test does not race the clock.
@override_settings(CITY311_STREAM_GATHER_MS=60_000)
class DatabaseQueueTests(StreamTestCase):
    """The task queue in the database (no REDIS_URL): a burst of commits shares a dispatch."""

    def run_queued(self) -> int:
        """Run the dispatches queued in the database, as a worker would; how many there were.
        The gathering time is over by then."""
        tasks = [task for task in OrmQ.objects.order_by("pk") if task.func() == stream.WAKE_TASK]
        with override_settings(CITY311_STREAM_GATHER_MS=0):
            for task in tasks:
                dispatch_events(*task.args(), **task.kwargs())
                task.delete()
        return len(tasks)

    def test_a_burst_of_commits_queues_one_dispatch_that_reads_every_one(self):
        rollup = self.consumer("rollup")
        first, second = self.report(), self.report()
        actions.add_note(first, text="Crew on site", public=True, by=self.dana)
        self.assertEqual(self.run_queued(), 1)
        every = list(RequestEvent.objects.order_by("pk").values_list("pk", flat=True))
        self.assertEqual(sorted(rollup.ids), every)
        # The dispatch took its row with it: the next commit queues a dispatch of its own.
        actions.add_note(second, text="Crew booked", public=True, by=self.dana)
        self.assertEqual(self.run_queued(), 1)
        self.assertEqual(rollup.given[-1].kind, "request.note")

    def test_a_commit_whose_lower_ids_commit_after_higher_ones_queues_its_own_and_is_read(self):
        # Ids are handed out before commit: the transaction that took n + 2 commits after the
        # one that took n + 5 queued a dispatch reading from n + 5, so it cannot join that one
        # and queues its own; n + 3, later still, joins the dispatch reading from n + 2.
        rollup = self.consumer("rollup")
        sr = self.report()
        self.run_queued()
        top = RequestEvent.objects.order_by("-pk").first().pk
        for offset in (5, 2, 3):
            with transaction.atomic():
                RequestEvent.objects.create(
                    pk=top + offset, request=sr, kind="request.note", note=str(offset)
                )
                stream.wake_on_commit(top + offset)
        self.assertEqual(self.run_queued(), 2)
        self.assertEqual(sorted(rollup.ids[-3:]), [top + 2, top + 3, top + 5])

    def test_a_commit_joining_a_dispatch_a_worker_has_taken_is_read_once_it_commits(self):
        # Dana's note joins the dispatch Rosa's filing queued, and is still writing when a
        # worker takes that dispatch: the dispatch waits for the note's commit and reads it.
        rollup = self.consumer("rollup")
        sr = self.report()
        joined, finish = threading.Event(), threading.Event()

        def note() -> None:
            try:
                with transaction.atomic():
                    actions.add_note(sr, text="Crew booked", public=True, by=self.dana)
                    joined.set()
                    finish.wait(10)
            finally:
                connection.close()

        writer = threading.Thread(target=note)
        writer.start()
        self.assertTrue(joined.wait(10), "the note was never written")

        def dispatch() -> None:
            try:
                self.run_queued()
            finally:
                connection.close()

        with meanwhile(dispatch, started=lambda: True) as worker:
            time.sleep(0.5)
            self.assertTrue(worker.is_alive(), "the dispatch read before the note committed")
            finish.set()
        writer.join()
        self.assertIn("request.note", [e.kind for e in rollup.given])
        self.assertEqual(self.queued_wake_ups(), 0)


class OutboxTestCase(CityMixin):
    def setUp(self):
        self.make_city()
        self.sr = self.report(phone="")

    def waiting(self, count: int) -> list[Delivery]:
        rows = []
        for n in range(count):
            follower = Follower.objects.create(
                request=self.sr, email=f"resident{n}@example.org", confirmed_at=timezone.now()
            )
            rows.append(
                Delivery(follower=follower, request=self.sr, kind="follow.confirm", channel="email")
            )
        return Delivery.objects.bulk_create(rows)

    def policy(self, **changes: int) -> outbox.Policy:
        rules = dict(max_attempts=4, retry_seconds=60, retry_max_seconds=150, lease_seconds=300)
        return outbox.Policy(**{**rules, **changes})


class OutboxTests(OutboxTestCase, TestCase):
    def test_a_claim_takes_due_rows_oldest_first_and_counts_an_attempt(self):
        rows = self.waiting(3)
        Delivery.objects.filter(pk=rows[2].pk).update(due_at=timezone.now() - timedelta(hours=1))
        Delivery.objects.filter(pk=rows[1].pk).update(due_at=timezone.now() + timedelta(hours=1))
        claimed = outbox.claim(Delivery.objects.all(), 10)
        self.assertEqual([d.pk for d in claimed], [rows[2].pk, rows[0].pk])
        self.assertEqual({(d.status, d.attempts) for d in claimed}, {(DeliveryStatus.SENDING, 1)})
        self.assertEqual(len({d.claim for d in claimed}), 1)
        self.assertEqual(outbox.claim(Delivery.objects.all(), 10), [])

    def test_each_retry_waits_twice_as_long_up_to_the_cap(self):
        [row] = self.waiting(1)
        waits = []
        for _ in range(3):
            Delivery.objects.filter(pk=row.pk).update(due_at=timezone.now())
            [claimed] = outbox.claim(Delivery.objects.all(), 1)
            start = timezone.now()
            self.assertTrue(outbox.retry_later(claimed, "451 try again", self.policy()))
            due = Delivery.objects.get(pk=row.pk).due_at
            waits.append(round((due - start).total_seconds()))
        self.assertEqual(waits, [60, 120, 150])
        row.refresh_from_db()
        self.assertEqual((row.status, row.attempts, row.error), ("pending", 3, "451 try again"))

    def test_after_the_last_attempt_it_goes_to_the_dead_letter_with_the_error(self):
        [row] = self.waiting(1)
        for attempt in (1, 2):
            Delivery.objects.filter(pk=row.pk).update(due_at=timezone.now())
            [claimed] = outbox.claim(Delivery.objects.all(), 1)
            tried_again = outbox.retry_later(
                claimed, f"refused {attempt}", self.policy(max_attempts=2)
            )
        self.assertFalse(tried_again)
        row.refresh_from_db()
        self.assertEqual(
            (row.status, row.attempts, row.error), (DeliveryStatus.FAILED, 2, "refused 2")
        )
        Delivery.objects.filter(pk=row.pk).update(due_at=timezone.now())
        self.assertEqual(outbox.claim(Delivery.objects.all(), 1), [])

    def test_a_stale_claim_is_released_after_the_lease_and_the_late_worker_cannot_mark_it(self):
        [row] = self.waiting(1)
        [dead] = outbox.claim(Delivery.objects.all(), 1)
        self.assertEqual(outbox.release_stale(Delivery.objects.all(), self.policy()), 0)
        Delivery.objects.filter(pk=row.pk).update(
            claimed_at=timezone.now() - timedelta(seconds=301)
        )
        self.assertEqual(outbox.release_stale(Delivery.objects.all(), self.policy()), 1)
        [alive] = outbox.claim(Delivery.objects.all(), 1)
        self.assertFalse(outbox.mark_sent(dead, "sent by the worker that was thought dead"))
        self.assertTrue(outbox.mark_sent(alive, "delivered to the SMTP server"))
        row.refresh_from_db()
        self.assertEqual(
            (row.status, row.attempts, row.detail), ("sent", 2, "delivered to the SMTP server")
        )

    def test_a_row_put_back_untried_does_not_count_the_attempt(self):
        [row] = self.waiting(1)
        [claimed] = outbox.claim(Delivery.objects.all(), 1)
        self.assertTrue(outbox.put_back(claimed))
        row.refresh_from_db()
        self.assertEqual((row.status, row.attempts), ("pending", 0))


class OutboxRaceTests(OutboxTestCase, TransactionTestCase):
    def test_two_claimers_racing_get_each_row_once(self):
        self.waiting(60)
        start = threading.Barrier(2)
        got: list[list[int]] = [[], []]

        def claimer(n: int) -> None:
            try:
                start.wait()
                while batch := outbox.claim(Delivery.objects.all(), 3):
                    got[n] += [d.pk for d in batch]
                    for delivery in batch:
                        outbox.mark_sent(delivery, f"claimer {n}")
            finally:
                connection.close()

        threads = [threading.Thread(target=claimer, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        everyone = got[0] + got[1]
        self.assertEqual(len(everyone), 60)
        self.assertEqual(len(set(everyone)), 60)
        self.assertEqual(
            set(Delivery.objects.values_list("status", "attempts")), {(DeliveryStatus.SENT, 1)}
        )
