"""A long batch writer on SQLite (here the history import `city311 demo` and `city311 up` run)
lets an app's filing in between two of its batches instead of keeping it waiting for the whole
load: SQLite has one writer at a time, and the long writers pause between batches
(city311/lib/batches.py). The event stream's replay is tested the same way in
tests/test_event_stream.py, with batches slow enough that it fails without the pause."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import TransactionTestCase
from django.utils import timezone

from city311.open311.models import ApiKey
from city311.servicerequests.imports import HistoricalRecord, import_history
from city311.servicerequests.models import ServiceRequest
from city311.test import CityMixin
from tests import small_city
from tests.helpers import meanwhile


def history(count: int) -> list[HistoricalRecord]:
    then = timezone.now() - timedelta(days=400)
    return [
        HistoricalRecord(
            service_code="pothole",
            requested_at=then + timedelta(minutes=n),
            external_id=f"311-{n}",
            lat=small_city.INSIDE[0],
            long=small_city.INSIDE[1],
            closed_at=then + timedelta(minutes=n, days=2),
            resolution="completed",
            resolution_note="Filled",
        )
        for n in range(count)
    ]


class LongWriterTests(CityMixin, TransactionTestCase):
    @pytest.fixture(autouse=True)
    def _small_city(self, tmp_path):
        small_city.load(tmp_path)

    def setUp(self):
        self.make_city()
        self.key = ApiKey.issue("FixMyStreet")[1]

    def post_meanwhile(self, load: Callable[[], object], *, started: Callable[[], bool]) -> None:
        """FixMyStreet posts a pothole once `load` has committed its first batch: the post is
        answered before the load ends, not kept waiting for all of it."""
        with meanwhile(load, started=started) as loading:
            asked = time.monotonic()
            r = self.client.post(
                "/open311/v2/requests.json",
                {
                    "api_key": self.key,
                    "service_code": "pothole",
                    "lat": str(small_city.INSIDE[0]),
                    "long": str(small_city.INSIDE[1]),
                    "description": "Deep hole by the curb",
                    "attribute[size]": "large",
                },
            )
            answered = time.monotonic()
            self.assertEqual(r.status_code, 200, r.content)
            self.assertTrue(loading.is_alive(), "the post waited for the whole load")
        left = time.monotonic() - answered
        print(f"answered in {(answered - asked) * 1000:.0f} ms, {left:.1f} s before the load ended")

    def test_an_open311_post_is_answered_between_two_batches_of_a_history_import(self):
        records = history(4000)

        def load() -> None:
            import_history(records, source="the old system", batch_size=400)

        self.post_meanwhile(load, started=ServiceRequest.objects.filter(historical=True).exists)
