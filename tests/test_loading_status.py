"""While `city311 up` loads the demo's history in the background, staff see on one page what
is loading, how far it has come and when it will be done; a resident who reports meanwhile
files live work, kept whole and apart from the history.

The load is driven as `up` drives it (city311.ops.loading around the history import, a batch
at a time); the page and the report go through HTTP between two batches."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from city311.ops import loading
from city311.ops.models import Loading
from city311.servicerequests.imports import HistoricalRecord, import_history
from city311.servicerequests.models import Channel, ServiceRequest
from city311.servicerequests.vocabulary import Event
from tests.test_portal_report import ReportTestCase

SOURCE = "Test history"
RECORDS = 5000
BATCH = 2000  # import_history's batch


def old_potholes(count: int):
    start = timezone.now() - timedelta(days=3 * 365)
    for i in range(count):
        requested = start + timedelta(hours=i)
        yield HistoricalRecord(
            service_code="pothole",
            requested_at=requested,
            external_id=f"old-{i}",
            lat=40.6782,
            long=-73.9442,
            address_string="1382 Dumont Ave, Brooklyn",
            closed_at=requested + timedelta(days=2),
            resolution_note="Filled.",
            channel=Channel.PHONE,
        )


class LoadingStatusTests(ReportTestCase):
    def page(self, language: str = "en"):
        self.client.cookies["django_language"] = language
        return self.client.get("/status/loading/")

    def load(self, *, between_batches=None) -> None:
        """Load the history as `up` does; `between_batches` runs once the first batch is in."""
        tracker = loading.begin("history:small", source=SOURCE, total=RECORDS)

        def records():
            for i, record in enumerate(old_potholes(RECORDS)):
                if i == BATCH and between_batches is not None:
                    between_batches()
                yield record

        import_history(records(), source=SOURCE, progress=tracker)
        tracker.finished()

    def test_staff_see_what_is_loading_how_far_and_when_it_will_be_done(self):
        self.sign_in(self.dana)
        seen = {}

        def look():
            # The first batch took 50 s: 40 a second, 3,000 to go, about a minute left.
            Loading.objects.update(started_at=timezone.now() - timedelta(seconds=50))
            seen["en"], seen["es"] = self.page("en"), self.page("es")

        self.load(between_batches=look)
        page = seen["en"]
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "The demo city&#x27;s history (Test history)")
        self.assertContains(page, "2,000 of 5,000 records loaded (40%).")
        self.assertContains(page, '<progress max="100" value="40" aria-labelledby="load-1">')
        self.assertContains(page, "About 40 records a second: about 1 minute left, done around")
        # The figures follow the load by a script, not by reloading the page (WCAG 2.2.1).
        self.assertContains(page, "data-busy")
        self.assertContains(page, "/static/ops/loading")
        self.assertNotContains(page, 'http-equiv="refresh"')
        self.assertNotRegex(page.content.decode(), r"[ap]\.m\.\.")
        self.assertContains(seen["es"], "2\xa0000 de 5\xa0000 registros cargados (40 %).")
        self.assertContains(
            seen["es"], "Unos 40 registros por segundo; tiempo restante aprox.: 1 minuto"
        )

        done = self.page()
        self.assertContains(done, "5,000 records loaded in")
        self.assertNotContains(done, "data-busy")
        self.assertNotRegex(done.content.decode(), r"[ap]\.m\.\.")

    def test_a_load_that_stopped_says_where_and_that_the_next_start_resumes(self):
        tracker = loading.begin("history:small", source=SOURCE, total=RECORDS, done=2000)
        tracker.failed()
        self.sign_in(self.omar)
        self.assertContains(self.page(), "Stopped at 2,000 of 5,000 records")
        self.assertContains(self.page(), "The next start resumes where it stopped.")

    def test_nothing_loading_says_so(self):
        self.sign_in(self.max)
        self.assertContains(self.page(), "Nothing is loading: the site has all its data.")

    def test_the_page_is_for_staff_only(self):
        loading.begin("history:small", source=SOURCE, total=RECORDS)
        response = self.page()
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])

    def test_a_report_filed_while_the_history_loads_is_kept_as_live_work(self):
        filed = {}

        def rosa_reports():
            response = self.report_pothole()
            filed["number"] = ServiceRequest.objects.get(historical=False).tracking_number
            filed["page"] = response

        self.load(between_batches=rosa_reports)
        self.assertContains(filed["page"], filed["number"])
        rosa = ServiceRequest.objects.get(tracking_number=filed["number"])
        # Kept, live, as the portal filed it.
        self.assertFalse(rosa.historical)
        self.assertEqual(rosa.channel, Channel.WEB)
        self.assertEqual(rosa.contact.email, "rosa@example.org")
        self.assertEqual(
            list(rosa.events.values_list("kind", flat=True)), [Event.SUBMITTED, Event.ROUTED]
        )
        self.assertIn(rosa, ServiceRequest.objects.live())
        # The history is whole and holds none of it.
        history = ServiceRequest.objects.filter(historical=True)
        self.assertEqual(history.count(), RECORDS)
        self.assertEqual(history.filter(application=SOURCE).count(), RECORDS)
        self.assertFalse(history.filter(pk=rosa.pk).exists())
        self.assertEqual(ServiceRequest.objects.count(), RECORDS + 1)
        # Her page and the work queue show her report.
        self.assertEqual(self.client.get(f"/track/{rosa.tracking_number}").status_code, 200)
        self.sign_in(self.dana)
        self.assertContains(self.client.get("/work/"), rosa.tracking_number)
