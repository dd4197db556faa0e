"""A long batch writer on SQLite (here the history import `city311 demo` and `city311 up` run)
lets an app's filing in between two of its batches instead of keeping it waiting for the whole
load: SQLite has one writer at a time, and the long writers pause between batches
(city311/lib/batches.py). The event stream's replay is tested the same way in
tests/test_event_stream.py, with batches slow enough that it fails without the pause. The
import gives way even without the pause: between two commits it reads and checks its next
batch, longer than a waiting writer's 100 ms between looks; what its test catches is an
import that keeps the lock from one batch to the next (one transaction)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.http import HttpResponse
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

    def post_pothole(self) -> HttpResponse:
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
        self.assertEqual(r.status_code, 200, r.content)
        return r

    def test_an_open311_post_is_answered_between_two_batches_of_a_history_import(self):
        records = history(4000)

        def load() -> None:
            import_history(records, source="the old system", batch_size=400)

        imported = ServiceRequest.objects.filter(historical=True).exists
        with meanwhile(load, started=imported) as loading:
            self.post_pothole()
            self.assertTrue(loading.is_alive(), "the post waited for the whole load")

    def test_a_writer_waiting_for_a_history_import_gets_in_at_the_end_of_the_batch(self):
        # The import writes 10 batches and lets go of the write lock between two. A writer
        # that asks for the lock once the first is written gets it when the batch being
        # written then is committed: not one batch or more later, as when the import's
        # commits follow each other with no time for a waiting writer to look (SQLite's
        # busy handler looks every 100 ms), nor at the end, as when it is one transaction.
        records = history(4000)
        written: list[int] = []
        first = threading.Event()

        def progress(count: int) -> None:
            written.append(count)
            first.set()

        def load() -> None:
            import_history(records, source="the old system", batch_size=400, progress=progress)

        with meanwhile(load, started=first.is_set):
            asked = len(written)
            with transaction.atomic():  # one write, waiting for the lock
                ApiKey.objects.filter(application="FixMyStreet").update(rate_limit_per_minute=30)
            answered = len(written)
        self.assertLessEqual(answered - asked, 1, f"in after batch {answered}, asked after {asked}")
