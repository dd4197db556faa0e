"""Beside the SLA promise, what the history says: "Most Pothole requests in Brooklyn are closed
within 3 days", from a daily rollup, with open requests counted as still running."""

from dataclasses import replace
from datetime import timedelta

from django.core import mail
from django.test import override_settings
from django.utils import timezone

from city311.geo.datasets import bump_version
from city311.geo.models import Boundary
from city311.notifications.tasks import send_due_deliveries
from city311.ops.schedules import SCHEDULES
from city311.servicerequests import expected
from city311.servicerequests.actions import close_request
from city311.servicerequests.imports import HistoricalRecord, import_history
from city311.servicerequests.models import Channel, Resolution
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
        sentence = (
            f"Most Pothole requests{where} are closed within 3 days."
            " A request like this one typically takes about 2 days."
        )
        r = self.client.get(f"/track/{sr.tracking_number}")
        self.assertContains(r, sentence)
        self.assertContains(r, "Expected by")  # the SLA date stays
        r = self.client.get(
            f"/open311/v2/requests/{sr.tracking_number}.json", {"extensions": "true"}
        )
        row = r.json()[0]
        self.assertEqual(row["extended_attributes"]["expected_close"], sentence)
        self.assertEqual(row["extended_attributes"]["expected_close_within_hours"], 72.0)
        self.assertEqual(row["extended_attributes"]["expected_close_typical_hours"], 36.0)
        self.assertIsNotNone(row["expected_datetime"])

    def test_the_typical_time_is_the_types_across_the_city_and_the_80_percent_time_the_districts(
        self,
    ):
        # Brooklyn's potholes: 15 closed in 2 days, 25 in 5; elsewhere 80 closed in a day. Most
        # in Brooklyn take up to 5 days; a pothole typically takes a day, city-wide (Brooklyn's
        # own 40 would say 5: one district's few requests are a noisier guide than the type's).
        for code, (lat, long) in (("BK", (40.6782, -73.9442)), ("SI", (40.61, -73.99))):
            Boundary.objects.create(
                kind="borough", code=code, name=f"Borough {code}",
                geometry=_square(lat, long), min_long=long - 0.01, min_lat=lat - 0.01,
                max_long=long + 0.01, max_lat=lat + 0.01,
            )  # fmt: skip
        bump_version("boundaries", source="test", rows=2)
        now = timezone.now()
        days = [2] * 15 + [5] * 25 + [1] * 80
        places = [WHERE] * 40 + [{"lat": 40.61, "long": -73.99}] * 80
        import_history(
            [
                HistoricalRecord(
                    service_code="pothole",
                    requested_at=now - timedelta(days=40, hours=i),
                    closed_at=now - timedelta(days=40, hours=i) + timedelta(days=d),
                    **where,
                )
                for i, (d, where) in enumerate(zip(days, places, strict=True))
            ],
            source="test history",
        )
        expected.refresh()
        r = self.client.get(f"/track/{self.report().tracking_number}")
        self.assertContains(
            r,
            "Most Pothole requests in Borough BK are closed within 5 days."
            " A request like this one typically takes about 1 day.",
        )

    def test_the_typical_time_follows_the_types_recent_requests(self):
        # 300 potholes of a year ago took 10 days; the 100 of the last weeks take a day. Weighed
        # by recency (half as much every 90 days older), the recent ones are most of the weight:
        # "about 1 day", not the 10 days most of the history (its newest 400 alike) would say.
        now = timezone.now()
        filed = [(now - timedelta(days=365, hours=i), 10) for i in range(300)]
        filed += [(now - timedelta(days=30, hours=i), 1) for i in range(100)]
        import_history(
            [
                HistoricalRecord(
                    service_code="pothole",
                    requested_at=at,
                    closed_at=at + timedelta(days=days),
                    **WHERE,
                )
                for at, days in filed
            ],
            source="test history",
        )
        expected.refresh()
        sr = self.report()
        self.assertContains(
            self.client.get(f"/track/{sr.tracking_number}"),
            "A request like this one typically takes about 1 day.",
        )
        r = self.client.get(
            f"/open311/v2/requests/{sr.tracking_number}.json", {"extensions": "true"}
        )
        self.assertEqual(r.json()[0]["extended_attributes"]["expected_close_typical_hours"], 24.0)

    def test_the_typical_time_is_never_more_than_the_80_percent_time(self):
        # This district closes everything within 2 hours; the type elsewhere takes 3 days.
        now = timezone.now()
        cases = [
            expected.Case(1, district, at, at + timedelta(hours=hours), at)
            for district, hours, n in (("fast", 2, 40), ("slow", 72, 80))
            for at in (now - timedelta(days=40, hours=i) for i in range(n))
        ]
        fast = expected.estimate_groups(cases, now)[(1, "fast", "")]
        self.assertEqual((fast.most_within_hours, fast.typical_hours), (2.0, 2.0))

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

    def test_with_too_little_history_nothing_is_claimed_and_the_page_says_so(self):
        self.history([1] * 20)
        sr = self.report()
        r = self.client.get(f"/track/{sr.tracking_number}")
        self.assertNotContains(r, "Most Pothole requests")
        self.assertNotContains(r, "typically takes")
        self.assertContains(
            r,
            "There is not yet enough history of Pothole requests here to say how long they "
            "take: the expected date is the city&#x27;s target.",
        )
        r = self.client.get(
            f"/open311/v2/requests/{sr.tracking_number}.json", {"extensions": "true"}
        )
        self.assertIsNone(r.json()[0]["extended_attributes"]["expected_close"])
        self.client.cookies["django_language"] = "es"
        r = self.client.get(f"/track/{sr.tracking_number}")
        self.assertContains(r, "Todavía no hay historial suficiente de solicitudes de")
        self.assertNotContains(r, "There is not yet enough history")

    def test_a_closed_request_is_told_neither_a_forecast_nor_its_absence(self):
        self.history([1] * 20)
        sr = self.report()
        close_request(sr, resolution=Resolution.COMPLETED, note="Filled.", by=self.dana)
        r = self.client.get(f"/track/{sr.tracking_number}")
        self.assertNotContains(r, "data-expected")
        self.assertNotContains(r, "data-no-forecast")

    def test_the_call_taker_reads_it_and_has_it_in_the_callers_language(self):
        self.history([1] * 10 + [2] * 12 + [3] * 10 + [10] * 8)
        sr = self.report(language="es", channel="phone")
        self.sign_in(self.omar)
        r = self.client.get(f"/console/filed/{sr.tracking_number}/")
        self.assertContains(r, "How long such requests take here")
        self.assertContains(r, "are closed within 3 days.")
        self.assertContains(r, "A request like this one typically takes about 2 days.")
        self.assertContains(r, "To read to the caller:")
        self.assertContains(r, "se cierran en 3 días.")
        self.assertContains(r, "Una solicitud como esta suele tardar alrededor de 2 días.")

    def test_the_call_taker_is_told_when_the_history_cannot_say(self):
        self.history([1] * 20)
        sr = self.report(channel="phone")
        self.sign_in(self.omar)
        r = self.client.get(f"/console/filed/{sr.tracking_number}/")
        self.assertContains(r, "data-no-forecast")
        self.assertContains(r, "There is not yet enough history of Pothole requests")
        self.assertNotContains(r, "To read to the caller:")

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

    def test_an_exports_open_records_are_open_until_the_export_whatever_their_channel(self):
        # An export of 2022 names the channel residents used; its open records were known open
        # when it was written (its latest time), not until today.
        filed = timezone.now() - timedelta(days=1000)
        import_history(
            [
                HistoricalRecord(
                    service_code="pothole", requested_at=filed, channel=Channel.WEB, **WHERE
                ),
                HistoricalRecord(
                    service_code="pothole",
                    requested_at=filed + timedelta(hours=1),
                    closed_at=filed + timedelta(hours=5),
                    channel=Channel.PHONE,
                    **WHERE,
                ),
            ],
            source="test export",
        )
        still_open = next(c for c in expected.cases_from_database() if c.closed_at is None)
        self.assertEqual(still_open.open_until, filed + timedelta(hours=5))

    def test_the_stated_time_is_stretched_when_new_requests_take_longer_than_it_said(self):
        now = timezone.now()

        def closed(days_ago, hours, n):
            filed = [now - timedelta(days=days_ago, hours=i) for i in range(n)]
            return [
                replace(expected.Case(1, "", at, None, now), closed_at=at + timedelta(hours=hours))
                for at in filed
            ]

        older = closed(60, 24, 300)
        # The newest month's requests take twice as long as the history said.
        self.assertAlmostEqual(
            expected.calibration_factor([*older, *closed(10, 48, 250)], now), 2.0
        )
        # As long as it said: no stretch.
        self.assertAlmostEqual(
            expected.calibration_factor([*older, *closed(10, 24, 250)], now), 1.0
        )
        # 200 of 250 new requests within what they were told, 50 twice as long: the told time
        # covered exactly 80% of these, but a next one (the 251st) only with 200 / 251 < 80%
        # (split conformal's rank, ceil((n + 1) 80%) of n): stretched.
        self.assertAlmostEqual(
            expected.calibration_factor([*older, *closed(10, 24, 200), *closed(11, 48, 50)], now),
            2.0,
        )


def _square(lat, long):
    ring = [
        [long - 0.01, lat - 0.01],
        [long + 0.01, lat - 0.01],
        [long + 0.01, lat + 0.01],
        [long - 0.01, lat + 0.01],
        [long - 0.01, lat - 0.01],
    ]
    return {"type": "Polygon", "coordinates": [ring]}
