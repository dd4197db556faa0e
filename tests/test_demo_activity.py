"""The demo city looks like a city on a normal day: recent requests in every state, on every
channel, in both languages, and its imported history kept as history, out of live work."""

from collections import Counter
from datetime import timedelta
from itertools import islice

from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import TestCase
from django.utils import timezone

from city311.demo import activity, loader
from city311.servicerequests import tracking
from city311.servicerequests.models import (
    Channel,
    Contact,
    RequestEvent,
    ServiceRequest,
    Status,
)
from city311.servicerequests.tasks import flag_overdue_requests
from city311.servicerequests.vocabulary import Event

# Enough real records for the shape of the city's requests and a few left open in 2013-2025.
HISTORY = 3000


class DemoActivityTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        loader.load_pack("nyc")
        cls.now = timezone.now()
        cls.records = list(islice(loader.history_records("nyc"), HISTORY))
        loader.load_history("nyc", records=cls.records)
        cls.made = activity.load_activity(now=cls.now, history=cls.records)
        cls.live = ServiceRequest.objects.live()
        cls.dana = User.objects.get(username="dana")

    def setUp(self):
        cache.clear()

    def test_the_last_90_days_hold_requests_open_closed_and_in_progress(self):
        self.assertEqual(self.live.count(), self.made)
        self.assertGreater(self.made, 0.7 * activity.PER_DAY * activity.DAYS)
        oldest = self.live.order_by("requested_at").first().requested_at
        self.assertGreaterEqual(oldest, self.now - timedelta(days=activity.DAYS + 1))
        self.assertLessEqual(self.live.latest("requested_at").requested_at, self.now)
        statuses = Counter(self.live.values_list("status", flat=True))
        self.assertEqual(set(statuses), {Status.OPEN, Status.IN_PROGRESS, Status.CLOSED})
        # The old ones are mostly done, this week's mostly not.
        old = self.live.filter(requested_at__lt=self.now - timedelta(days=60))
        self.assertGreater(old.filter(status=Status.CLOSED).count(), 0.8 * old.count())

    def test_they_came_on_every_channel_in_both_languages(self):
        channels = set(self.live.values_list("channel", flat=True))
        self.assertEqual(channels, set(Channel.values) - {Channel.IMPORT})
        languages = Counter(Contact.objects.values_list("language", flat=True))
        self.assertGreater(languages["es"], 0.1 * sum(languages.values()))
        self.assertGreater(languages["en"], languages["es"])

    def test_the_types_come_as_often_as_in_the_city_history(self):
        mine = Counter(self.live.values_list("service_type__service_code", flat=True))
        real = Counter(r.service_code for r in self.records)
        top_real = {code for code, _ in real.most_common(3)}
        top_mine = {code for code, _ in mine.most_common(6)}
        self.assertLessEqual(top_real, top_mine)

    def test_each_request_has_the_history_and_number_a_filing_would_give_it(self):
        for sr in self.live.filter(status=Status.CLOSED).order_by("pk")[:200]:
            kinds = list(sr.events.order_by("at", "pk").values_list("kind", flat=True))
            self.assertEqual(kinds[:2], [Event.SUBMITTED, Event.ROUTED])
            self.assertEqual(kinds[-1], Event.CLOSED)
            closed = sr.events.get(kind=Event.CLOSED)
            self.assertEqual(closed.at, sr.closed_at)
            self.assertEqual(closed.note, sr.status_notes)
            self.assertLess(sr.requested_at, sr.closed_at)
            self.assertEqual(sr.updated_at, sr.closed_at)
            self.assertTrue(tracking.is_valid(sr.tracking_number.replace("-", "")))
            self.assertTrue(sr.areas)
        for sr in self.live.filter(status=Status.IN_PROGRESS)[:50]:
            self.assertTrue(sr.events.filter(kind=Event.STARTED).exists())
        self.assertFalse(RequestEvent.objects.filter(request__historical=False, at__gt=self.now))

    def test_the_same_seed_and_moment_give_the_same_city_and_another_day_another(self):
        def shape(filings):
            return [
                (f.request["service_type_id"], f.request["requested_at"], f.request["status"])
                for f in filings
            ]

        again = activity.activity(now=self.now, history=self.records)
        self.assertEqual(shape(again), shape(activity.activity(now=self.now, history=self.records)))
        tomorrow = activity.activity(now=self.now + timedelta(days=1), history=self.records)
        self.assertNotEqual(shape(again)[:50], shape(tomorrow)[:50])

    def test_a_city_with_live_requests_gets_no_invented_ones(self):
        self.assertTrue(activity.has_live_requests())

    def test_the_home_page_shows_the_most_requested_types_in_both_languages(self):
        page = self.client.get("/").content.decode()
        self.assertIn("Most requested", page)
        self.client.cookies["django_language"] = "es"
        page = self.client.get("/", headers={"accept-language": "es"}).content.decode()
        self.assertIn("Lo más solicitado", page)

    def test_the_public_map_shows_open_and_closed_requests(self):
        answer = self.client.get("/api/requests.geojson").json()
        statuses = Counter(f["properties"]["status"] for f in answer["features"])
        self.assertGreater(statuses["open"], 10)
        self.assertGreater(statuses["closed"], 10)

    def test_history_left_open_stays_out_of_the_work_queue_and_the_overdue_sweep(self):
        left_open = ServiceRequest.objects.filter(historical=True).exclude(status=Status.CLOSED)
        self.assertTrue(left_open.exists())
        self.client.force_login(self.dana)
        page = self.client.get("/work/").content.decode()
        live = self.live.exclude(status=Status.CLOSED).filter(
            department__memberships__user=self.dana
        )
        self.assertIn(live.order_by("-urgent", "due_at").first().tracking_number, page)
        for sr in left_open.filter(department__memberships__user=self.dana)[:20]:
            self.assertNotIn(sr.tracking_number, page)
        flag_overdue_requests(limit=100_000)
        self.assertFalse(RequestEvent.objects.filter(kind=Event.OVERDUE, request__historical=True))
        self.assertTrue(RequestEvent.objects.filter(kind=Event.OVERDUE, request__historical=False))

    def test_history_is_still_found_by_its_tracking_number(self):
        old = ServiceRequest.objects.filter(
            historical=True, department__memberships__user=self.dana
        ).first()
        answer = self.client.get(f"/track/{old.tracking_number}")
        self.assertEqual(answer.status_code, 200)
        self.client.force_login(self.dana)
        self.assertEqual(self.client.get(f"/work/requests/{old.tracking_number}/").status_code, 200)
