"""One rate limiter for every limit: exact across processes, counted in the database or Redis."""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid

import redis
from django.db import connections
from django.test import TransactionTestCase, override_settings

from city311.lib import ratelimit
from city311.ops.models import RateCounter
from city311.ops.schedules import SCHEDULES

REDIS_URL = os.environ.get("CITY311_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
PROCESSES = 6
TRIES = 40
LIMIT = 100
# One window for the whole test, so no window ends while the processes count.
FOREVER = 10**9


def _hammer(scope: str, start_at: float) -> int:
    """In a process of its own: try TRIES times as fast as possible; how many got through."""
    while time.time() < start_at:
        time.sleep(0.001)
    allowed = 0
    for _ in range(TRIES):
        if ratelimit.hit(scope, "one app", limit=LIMIT, window_s=FOREVER) is None:
            allowed += 1
    connections.close_all()
    return allowed


class AcrossProcessesTests(TransactionTestCase):
    """Six web processes take requests for one API key at the same moment."""

    def hammer(self, scope: str) -> list[int]:
        # Each process opens its own connection: none may share the parent's.
        connections.close_all()
        start_at = time.time() + 1.0
        with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
            return pool.starmap(_hammer, [(scope, start_at)] * PROCESSES)

    def test_exactly_the_limit_gets_through_when_counted_in_the_database(self):
        allowed = self.hammer(f"test:{uuid.uuid4().hex}")
        self.assertEqual(sum(allowed), LIMIT, allowed)
        # Several processes got some through: they really did count side by side.
        self.assertGreater(sum(1 for n in allowed if n), 1, allowed)
        # And no increment was lost: every attempt of every process was counted.
        self.assertEqual(RateCounter.objects.get().count, PROCESSES * TRIES)

    @override_settings(REDIS_URL=REDIS_URL)
    def test_exactly_the_limit_gets_through_when_counted_on_redis(self):
        scope = f"test:{uuid.uuid4().hex}"
        try:
            # The parent checks first, so its connection exists before the processes fork.
            self.assertIsNone(ratelimit.hit(scope, "parent", limit=1, window_s=FOREVER))
            allowed = self.hammer(scope)
            self.assertEqual(sum(allowed), LIMIT, allowed)
            self.assertGreater(sum(1 for n in allowed if n), 1, allowed)
            self.assertFalse(RateCounter.objects.exists())
        finally:
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"*{scope}*"):
                client.delete(key)

    @override_settings(REDIS_URL=REDIS_URL)
    def test_a_count_on_redis_is_forgotten_soon_after_its_window_ends(self):
        scope = f"test:{uuid.uuid4().hex}"
        client = redis.Redis.from_url(REDIS_URL)
        try:
            for _ in range(3):
                ratelimit.hit(scope, "one app", limit=LIMIT, window_s=60)
            (key,) = client.scan_iter(f"*{scope}*")
            self.assertEqual(int(client.get(key)), 3)
            # Set with the first count and kept: within the window's minute and the grace.
            self.assertTrue(0 < client.ttl(key) <= 60 + ratelimit.REDIS_GRACE_S, client.ttl(key))
        finally:
            for key in client.scan_iter(f"*{scope}*"):
                client.delete(key)


class RedisDownTests(TransactionTestCase):
    @override_settings(REDIS_URL="redis://127.0.0.1:1/0")
    def test_with_redis_down_the_database_counts_and_the_limit_still_holds(self):
        with self.assertLogs("city311.lib.ratelimit", "WARNING") as logs:
            self.assertIsNone(ratelimit.hit("t", "me", limit=1, window_s=3600))
            self.assertIsNotNone(ratelimit.hit("t", "me", limit=1, window_s=3600))
        self.assertEqual(RateCounter.objects.get().count, 2)
        self.assertIn("Redis failed (ConnectionError)", logs.output[0])


class WindowTests(TransactionTestCase):
    def test_who_is_counted_is_stored_hashed(self):
        ratelimit.hit("portal:contact", "rosa@example.org", limit=5, window_s=3600)
        name = RateCounter.objects.get().name
        self.assertNotIn("rosa", name)
        self.assertTrue(name.startswith("portal:contact:"))

    def test_the_answer_says_when_the_window_ends(self):
        for _ in range(2):
            self.assertIsNone(ratelimit.hit("t", "me", limit=2, window_s=3600))
        limited = ratelimit.hit("t", "me", limit=2, window_s=3600)
        assert limited is not None
        self.assertEqual(int(limited.retry_at.timestamp()) % 3600, 0)
        self.assertTrue(1 <= limited.retry_after_s <= 3600)

    def test_a_new_window_starts_from_nothing(self):
        self.assertIsNone(ratelimit.hit("t", "me", limit=1, window_s=1))
        time.sleep(1.0 - time.time() % 1.0 + 0.01)
        self.assertIsNone(ratelimit.hit("t", "me", limit=1, window_s=1))

    def test_the_sweep_deletes_counts_of_windows_that_have_ended(self):
        RateCounter.objects.create(name="old", count=3, expires=int(time.time()) - 1)
        ratelimit.hit("t", "now", limit=5, window_s=3600)
        self.assertEqual(ratelimit.sweep_rate_counters(), 1)
        self.assertEqual(RateCounter.objects.count(), 1)

    def test_the_sweep_runs_on_a_schedule(self):
        self.assertIn("city311.lib.ratelimit.sweep_rate_counters", dict(SCHEDULES))
