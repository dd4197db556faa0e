"""The call centre's contacts by week and by month in the reports (issue 17: the supervisor's
figures "read by the reports too"): exact counts by kind and channel and exact handle times
(median, nearest-rank 90th percentile) on a known mix, as a page and as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from city311.cities import profile
from city311.contacts import actions
from city311.contacts.models import Kind
from city311.test import BaseTestCase

HEADER = (
    "period_start,period_end,contacts,kind_information,kind_new_request,kind_status_check,"
    "kind_complaint,kind_transfer,kind_not_wrapped,channel_phone,channel_sms,channel_email,"
    "channel_walk_in,channel_web_chat,handled,handle_median_s,handle_p90_s"
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=profile.zone())


class ContactTotalsTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        # (city's local start, channel, kind, handle seconds)
        mix = [
            # Sunday 22 November, late: November, but the week before the one asked.
            ("2026-11-22T23:30", "phone", Kind.INFORMATION, 15),
            # The week of Monday 23 November.
            ("2026-11-23T09:00", "phone", Kind.INFORMATION, 60),
            ("2026-11-24T10:00", "phone", Kind.NEW_REQUEST, 120),
            ("2026-11-25T11:00", "sms", Kind.STATUS_CHECK, 5),
            ("2026-11-26T12:00", "email", Kind.NEW_REQUEST, 300),
            # Sunday 29 November at 23:30 in the city is Monday in UTC: still this week.
            ("2026-11-29T23:30", "phone", Kind.INFORMATION, 10),
            # The week of Monday 30 November, across the month's end.
            ("2026-11-30T08:00", "phone", Kind.COMPLAINT, 200),
            ("2026-12-01T09:00", "walk_in", Kind.TRANSFER, 90),
            ("2026-12-02T09:00", "phone", Kind.INFORMATION, 30),
            ("2026-12-03T09:00", "phone", Kind.INFORMATION, 45),
        ]
        for start, channel, kind, seconds in mix:
            actions.record_interaction(
                channel=channel,
                kind=kind,
                started_at=at(start),
                ended_at=at(start) + timedelta(seconds=seconds),
                by=self.omar,
            )
        # A call still open on 4 December: counted, not wrapped up, no handle time.
        actions.start_interaction(channel="phone", by=self.omar, at=at("2026-12-04T09:00"))
        self.sign_in(self.max)

    def csv_rows(self, **query: str) -> list[str]:
        r = self.client.get("/reports/contacts.csv", query)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r["Content-Type"], "text/csv; charset=utf-8")
        return r.content.decode().splitlines()

    def test_max_reads_the_weeks_exactly(self):
        rows = self.csv_rows(by="week", **{"from": "2026-11-23", "to": "2026-12-06"})
        self.assertEqual(
            rows,
            [
                HEADER,
                "2026-11-23,2026-11-29,5,2,2,1,0,0,0,3,1,1,0,0,5,60,300",
                "2026-11-30,2026-12-06,5,2,0,0,1,1,1,4,0,0,1,0,4,67.5,200",
            ],
        )

    def test_max_reads_the_months_exactly(self):
        rows = self.csv_rows(by="month", **{"from": "2026-11-01", "to": "2026-12-31"})
        self.assertEqual(
            rows,
            [
                HEADER,
                "2026-11-01,2026-11-30,7,3,2,1,1,0,0,5,1,1,0,0,7,60,300",
                "2026-12-01,2026-12-31,4,2,0,0,0,1,1,3,0,0,1,0,3,45,90",
            ],
        )

    def test_contacts_with_the_same_handle_time_each_count(self):
        for day, seconds in (("05", 10), ("06", 10), ("07", 50), ("08", 50), ("09", 10)):
            start = at(f"2026-01-{day}T09:00")
            actions.record_interaction(
                channel="phone",
                kind=Kind.INFORMATION,
                started_at=start,
                ended_at=start + timedelta(seconds=seconds),
            )
        rows = self.csv_rows(by="week", **{"from": "2026-01-05", "to": "2026-01-11"})
        # 10, 10, 10, 50, 50: the middle one is 10; the 90th percentile is the 5th, 50.
        self.assertEqual(rows[1], "2026-01-05,2026-01-11,5,5,0,0,0,0,0,5,0,0,0,0,5,10,50")
        rows = self.csv_rows(by="week", **{"from": "2026-01-05", "to": "2026-01-08"})
        self.assertEqual(rows[1].split(",")[-3:], ["5", "10", "50"])  # whole weeks, always

    def test_the_page_shows_the_same_figures_and_links_its_csv(self):
        r = self.client.get(
            "/reports/contacts/", {"by": "week", "from": "2026-11-23", "to": "2026-12-06"}
        )
        self.assertContains(r, "Contacts by week and month")
        self.assertContains(r, "Information only")
        self.assertContains(r, "67.5 s")
        self.assertContains(
            r, "/reports/contacts.csv?by=week&amp;from=2026-11-23&amp;to=2026-12-06"
        )
        first, second = r.context["found"]
        self.assertEqual((first.contacts, first.median_handle, first.p90_handle), (5, 60, 300))
        self.assertEqual((second.contacts, second.median_handle, second.p90_handle), (5, 67.5, 200))

    def test_by_default_the_last_twelve_weeks_end_today(self):
        found = self.client.get("/reports/contacts/").context["found"]
        self.assertEqual(len(found), 12)
        self.assertEqual(found[-1].start.weekday(), 0)
        self.assertEqual((found[-1].end - found[0].start).days, 12 * 7 - 1)

    def test_the_dashboard_leads_here(self):
        self.assertContains(self.client.get("/reports/"), 'href="/reports/contacts/"')

    def test_in_spanish(self):
        r = self.client.get(
            "/reports/contacts/",
            {"by": "month", "from": "2026-11-01", "to": "2026-12-31"},
            HTTP_ACCEPT_LANGUAGE="es",
        )
        self.assertContains(r, "Contactos por semana y por mes")
        self.assertContains(r, "Tiempo de atención, percentil 90")
        self.assertContains(r, "Transferencia o remisión")  # every kind's name, not only some
        self.assertNotContains(r, "Transfer or referral")

    def test_what_cannot_be_read_is_a_400_saying_what_to_ask(self):
        for query, says in (
            ({"by": "day"}, "Give by= as week or month, not &#x27;day&#x27;."),
            ({"from": "last week"}, "is not a day: give it as 2026-12-03"),
            ({"from": "2026-12-06", "to": "2026-11-23"}, "The first day comes after the last"),
            ({"from": "2020-01-01", "to": "2026-12-06"}, "At most 53 weeks at once"),
            ({"by": "month", "from": "2000-01-01"}, "At most 60 months at once"),
        ):
            r = self.client.get("/reports/contacts/", query)
            self.assertContains(r, says, status_code=400, msg_prefix=str(query))
            r = self.client.get("/reports/contacts.csv", query)
            self.assertEqual(r.status_code, 400, query)

    def test_only_those_who_see_contacts_and_reports_read_it(self):
        for person, status in (
            (self.max, 200),
            (self.sofia, 200),
            (self.omar, 403),
            (self.dana, 403),
            (self.pat, 403),
        ):
            self.sign_in(person)
            for path in ("/reports/contacts/", "/reports/contacts.csv"):
                self.assertEqual(self.client.get(path).status_code, status, (person, path))

    def test_the_csv_names_nobody(self):
        text = "\n".join(self.csv_rows(by="month", **{"from": "2026-11-01", "to": "2026-12-31"}))
        self.assertNotIn("omar", text.lower())
        self.assertEqual(len(list(csv.reader(io.StringIO(text)))), 3)
