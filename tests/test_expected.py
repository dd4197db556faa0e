"""Beside the SLA promise, what the history says: "Most Pothole requests in Brooklyn are closed
within 3 days", from a daily rollup, with open requests counted as still running."""

from dataclasses import replace
from datetime import timedelta

from django.core import mail
from django.test import override_settings
from django.utils import timezone

from city311.notifications.tasks import send_due_deliveries
from city311.ops.schedules import SCHEDULES
from city311.servicerequests import expected
from city311.servicerequests.imports import HistoricalRecord, import_history
from city311.servicerequests.tasks import dispatch_events
from city311.test import BaseTestCase

WHERE = {"lat": 40.6782, "long": -73.9442}


class ExpectedDateTests(BaseTestCase):
    def history(self, days_to_close, *, still_open=0, open_days=10):
        now = timezone.now()
        records = [
            HistoricalRecord(
                service_code="pothole",
                requested_at=now - timedelta(days=40, hours=i),
                closed_at=now - timedelta(days=40, hours=i) + timedelta(days=d),
                **WHERE,
            )
            for i, d in enumerate(days_to_close)
        ]
        import_history(records, source="test history")
        for _ in range(still_open):
            # The city's own open requests: known to be still open now.
            self.report(requested_at=now - timedelta(days=open_days))
        expected.refresh()

    def tearDown(self):
        expected.forget_rollup()

    def test_the_request_page_and_open311_say_how_long_such_requests_take(self):
        # 32 of 40 closed within 3 days, the rest after 10: "most" (80%) within 3 days.
        self.history([1] * 10 + [2] * 12 + [3] * 10 + [10] * 8)
        sr = self.report()
        _code, district = expected.district_of(sr.areas)
        where = f" in {district}" if district else ""
        sentence = f"Most Pothole requests{where} are closed within 3 days."
        r = self.client.get(f"/track/{sr.tracking_number}")
        self.assertContains(r, sentence)
        self.assertContains(r, "Expected by")  # the SLA date stays
        r = self.client.get(
            f"/open311/v2/requests/{sr.tracking_number}.json", {"extensions": "true"}
        )
        row = r.json()[0]
        self.assertEqual(row["extended_attributes"]["expected_close"], sentence)
        self.assertEqual(row["extended_attributes"]["expected_close_within_hours"], 72.0)
        self.assertEqual(row["extended_attributes"]["expected_close_typical_hours"], 48.0)
        self.assertIsNotNone(row["expected_datetime"])

    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    def test_the_received_message_says_it_in_the_residents_language(self):
        self.history([1] * 35 + [4] * 5)
        mail.outbox = []
        sr = self.report(language="es", phone="")
        dispatch_events()
        send_due_deliveries()
        body = next(m.body for m in mail.outbox if "rosa@example.org" in m.to)
        self.assertIn("se cierran en 1 día", body)
        self.assertIn(sr.tracking_number, body)

    def test_with_too_little_history_nothing_is_claimed(self):
        self.history([1] * 20)
        sr = self.report()
        r = self.client.get(f"/track/{sr.tracking_number}")
        self.assertNotContains(r, "Most Pothole requests")
        self.assertNotContains(r, "How long it usually takes")

    def test_open_requests_count_as_still_running(self):
        # 30 closed in a day, 20 open for 10 days: closed-only times would say "1 day"; in truth
        # most (80%) are not known to close by any time yet, so nothing is claimed.
        self.history([1] * 30, still_open=20)
        r = self.client.get(f"/track/{self.report().tracking_number}")
        self.assertNotContains(r, "Most Pothole requests")

    def test_the_estimate_counts_a_closing_once_it_is_known(self):
        estimates = expected.estimate_groups(
            [
                expected.Case(1, "", timezone.now() - timedelta(days=5), None, timezone.now()),
            ]
            * 5,
            timezone.now(),
        )
        self.assertIsNone(estimates[(1, "", "")].most_within_hours)

    def test_the_rollup_is_refreshed_every_day(self):
        self.assertIn(("city311.servicerequests.expected.refresh", 24 * 60), SCHEDULES)
        self.assertIn(("city311.catalog.classifier.retrain", 24 * 60), SCHEDULES)


class PointForecastTests(BaseTestCase):
    """The point forecast ("How long it usually takes"): a conditional median from what is
    known at filing, the type's backlog among it (bench/expected.py back-tests it)."""

    def test_the_backlog_is_what_the_database_counts_at_filing(self):
        now = timezone.now()
        start = now - timedelta(days=60)
        records = [
            HistoricalRecord(
                service_code="pothole",
                requested_at=start + timedelta(hours=6 * i),
                closed_at=None if i % 3 == 0 else start + timedelta(hours=6 * i + 20),
                **WHERE,
            )
            for i in range(40)
        ]
        import_history(records, source="test history")
        cases = expected.with_backlog(expected.cases_from_database())
        self.assertEqual(len(cases), 40)
        for c in cases[::7]:
            self.assertEqual(c.backlog, expected.backlog_at(c.type_id, c.requested_at))
        self.assertGreater(max(c.backlog for c in cases), 0)

    def test_the_model_learns_that_a_long_queue_waits_longer_and_is_stored_safely(self):
        now = timezone.now()
        cases = [
            expected.Case(
                1,
                "",
                now - timedelta(days=30, hours=i),
                now - timedelta(days=30, hours=i) + timedelta(hours=2 + 40 * (i % 2)),
                now,
                "web",
                backlog=5 + 50 * (i % 2),
            )
            for i in range(300)
        ]
        point = expected.fit_point(cases, now)
        assert point is not None
        again = expected.PointModel.loads(point.dumps())
        short, long_ = again.hours([replace(cases[0], backlog=5), replace(cases[0], backlog=55)])
        self.assertLess(short, 5)
        self.assertGreater(long_, 30)
        self.assertIsNone(expected.fit_point(cases[:100], now))
