"""The managers' reports: every metric on a small hand-built city whose answers are known.

Max (manager) reads the whole city; Sofia (Streets supervisor) her department; Dana (staff),
Omar (call taker) and Pat may not open the reports.

The city, 30 days back from today (all potholes, due 5 calendar days after filing, unless
said; times are set after the real actions ran, so the answers do not depend on the clock):

    A  web    received 10 days ago, closed 1 day later              on time      district 1
    B  web    received 10 days ago, closed 8 days later             late         district 1
    C  web    received  9 days ago, started 2 days later, open      past due     district 1
    D  web    received  8 days ago, paused 5 days ago, open         held (not past due)
    E  web    received  6 days ago, closed 2 days later, reopened, closed 1 day ago (fresh
              clock: on time)                                                    district 2
    F  phone  received  2 days ago, closed 3 hours later            on time
    G  phone  received  1 day ago, open, due in 4 days
    H  web    received 20 days ago, paused 18 days ago, closed 12 days ago while paused: the
              clock stopped before the due date, so on time                      district 2
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from io import StringIO
from unittest import mock

from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from city311.contacts import actions as contacts
from city311.geo import datasets
from city311.geo.models import Boundary
from city311.notifications.models import Follower, SurveyResponse
from city311.reports import points, recount, rollup
from city311.reports.models import DaySummary, DayTotal, MonthSummary, MonthTotal, RequestFact
from city311.servicerequests import actions
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.servicerequests.tasks import dispatch_events
from city311.test import BaseTestCase, CityMixin, city_today

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


def square(west: float, south: float) -> dict:
    east, north = west + 0.05, south + 0.05
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


class HandBuiltCity(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        now = timezone.now()
        cls.now = now
        for code, west in (("1", -74.0), ("2", -73.95)):
            Boundary.objects.create(
                kind="council_district", code=code, name=f"District {code}",
                geometry=square(west, 40.6), min_long=west, min_lat=40.6,
                max_long=west + 0.05, max_lat=40.65,
            )  # fmt: skip
        # As an import does: every process's area index (the open points' clusters read it)
        # rebuilds, rather than keep another test's city whose version number was the same.
        datasets.bump_version("boundaries", source="hand-built test city", rows=2)
        c = cls
        r = {}
        for name in "ABCDEFGH":
            channel = "phone" if name in "FG" else "web"
            r[name] = CityMixin.report(c, channel=channel)  # type: ignore[arg-type]
        actions.close_request(
            r["A"], resolution="completed", note="Filled the hole with cold patch.", by=c.dana
        )
        actions.close_request(r["B"], resolution="completed", note="Patched.", by=c.dana)
        actions.start_request(r["C"], by=c.dana)
        actions.pause_request(r["D"], reason="resident", by=c.dana)
        actions.close_request(r["E"], resolution="completed", note="Filled.", by=c.dana)
        actions.reopen_request(r["E"], reason="Still there", by=c.dana)
        actions.close_request(r["E"], resolution="completed", note="Filled again.", by=c.dana)
        actions.close_request(r["F"], resolution="no_action", note="Not ours.", by=c.dana)
        actions.pause_request(r["H"], reason="agency", by=c.dana)
        actions.close_request(r["H"], resolution="completed", note="Done by utility.", by=c.dana)

        def place(name: str, received_ago: timedelta, **moments: datetime | None) -> None:
            sr = r[name]
            received = now - received_ago
            fields = {"requested_at": received, "due_at": received + 5 * DAY, **moments}
            ServiceRequest.objects.filter(pk=sr.pk).update(**fields)
            RequestEvent.objects.filter(request=sr).update(at=received)

        def event_at(name: str, kind: str, moment: datetime, nth: int = 0) -> None:
            events = RequestEvent.objects.filter(request=r[name], kind=kind).order_by("pk")
            RequestEvent.objects.filter(pk=events[nth].pk).update(at=moment)

        place("A", 10 * DAY, closed_at=now - 9 * DAY)
        event_at("A", "request.closed", now - 9 * DAY)
        place("B", 10 * DAY, closed_at=now - 2 * DAY)
        event_at("B", "request.closed", now - 2 * DAY)
        place("C", 9 * DAY)
        event_at("C", "request.started", now - 7 * DAY)
        place("D", 8 * DAY, paused_at=now - 5 * DAY)
        event_at("D", "request.paused", now - 5 * DAY)
        # E's second clock starts at the reopening: due 5 days after it.
        place("E", 6 * DAY, closed_at=now - DAY, due_at=now - 3 * DAY + 5 * DAY)
        event_at("E", "request.closed", now - 4 * DAY)
        event_at("E", "request.reopened", now - 3 * DAY)
        event_at("E", "request.closed", now - DAY, nth=1)
        place("F", 2 * DAY, closed_at=now - 2 * DAY + 3 * HOUR)
        event_at("F", "request.closed", now - 2 * DAY + 3 * HOUR)
        place("G", DAY)
        place("H", 20 * DAY, closed_at=now - 12 * DAY)
        event_at("H", "request.paused", now - 18 * DAY)
        event_at("H", "request.closed", now - 12 * DAY)
        for name, code in (("A", "1"), ("B", "1"), ("C", "1"), ("E", "2"), ("H", "2")):
            areas = {"council_district": {"code": code, "name": f"District {code}"}}
            ServiceRequest.objects.filter(pk=r[name].pk).update(areas=areas)
        for name, score in (("F", 4), ("A", 2)):
            sr = r[name]
            SurveyResponse.objects.create(
                follower=Follower.objects.filter(request=sr).first()
                or Follower.objects.create(request=sr, email="rosa@example.org"),
                request=sr,
                event=RequestEvent.objects.filter(request=sr, kind="request.closed").last(),
                satisfaction=score,
            )
        # The changes above wrote no events: one more event per request wakes its fact.
        for sr in r.values():
            actions.note_contact_viewed(sr, by=c.max, reason="Reports test")
        dispatch_events()
        cls.r = r

    def tiles(self, query: str = "", user=None) -> dict:
        self.sign_in(user or self.max)
        response = self.client.get(f"/reports/?{query}")
        self.assertEqual(response.status_code, 200, response.content[:500])
        return {t.metric.key: t for t in response.context["tiles"]}


@override_settings(CITY311_REPORTS_MIN_N=3)
class MetricTests(HandBuiltCity):
    def test_it_counts_received_closed_and_open(self):
        tiles = self.tiles()
        self.assertEqual(tiles["received"].value.number, 8)
        self.assertEqual(tiles["closed"].value.number, 5)  # A, B, E (once), F, H
        self.assertEqual(tiles["open"].value.number, 3)  # C, D, G

    def test_open_past_due_leaves_out_a_request_paused_in_time(self):
        self.assertEqual(self.tiles()["past_due"].value.number, 1)  # C, not D

    def test_on_time_counts_open_overdue_requests_against_it(self):
        # Closed on time A, E, F, H (H's clock stopped in time) ÷ (5 closed + C open late).
        value = self.tiles()["on_time"].value
        self.assertAlmostEqual(value.number, 100 * 4 / 6)
        self.assertEqual(value.text, "67%")

    def test_time_to_close_counts_open_requests_as_still_running(self):
        tiles = self.tiles()
        # F 3h, A 1d, G open 1d, E 5d, D open 8d, C open 9d, B 8d, H 8d (B and H in the
        # 8-14 day bucket). Counting the open ones as finished at their age would put the
        # median at E (5 days); as still running (Kaplan-Meier, the forecast's estimator),
        # 40% have closed by E and the rest close with B and H: within 14 days.
        self.assertEqual(tiles["close_median"].value.text, "within 14 days")
        self.assertEqual(tiles["close_p90"].value.text, "within 14 days")

    def test_a_percentile_on_a_still_open_request_says_over(self):
        # Web only, received 8-9 days ago: D and C are open, nothing closed.
        since = city_today() - 9 * DAY
        until = city_today() - 8 * DAY
        tiles = self.tiles(f"since={since}&until={until}&channel=web")
        self.assertEqual(tiles["received"].value.number, 2)
        with self.settings(CITY311_REPORTS_MIN_N=2):
            tiles = self.tiles(f"since={since}&until={until}&channel=web")
        self.assertEqual(tiles["close_median"].value.text, "over 8 days (still open)")
        self.assertTrue(tiles["close_median"].value.at_least)

    def test_first_response_is_the_first_thing_a_person_did(self):
        # F 3h, A 1d, C 2d (started), E 2d (first closing), B 8d, H 8d; D's pause is not one.
        value = self.tiles()["first_response"].value
        self.assertEqual(value.n, 6)
        self.assertEqual(value.text, "within 2 days")

    def test_reopen_rate(self):
        value = self.tiles()["reopen_rate"].value
        self.assertEqual((value.number, value.n), (20.0, 5))

    def test_satisfaction_on_two_answers_is_suppressed(self):
        value = self.tiles()["satisfaction"].value
        self.assertTrue(value.suppressed)
        self.assertEqual(value.text, "too few (n=2)")
        with self.settings(CITY311_REPORTS_MIN_N=2):
            self.assertEqual(self.tiles()["satisfaction"].value.text, "3.0 / 5")

    def test_share_by_channel(self):
        self.sign_in(self.max)
        rows = self.client.get("/reports/").context["channels"]
        self.assertEqual([(c["channel"], c["n"], c["share"].text) for c in rows],
                         [("web", 6, "75%"), ("phone", 2, "25%")])  # fmt: skip

    def test_backlog_by_age(self):
        self.sign_in(self.max)
        ages = dict(self.client.get("/reports/").context["ages"])
        expected = {"0 to 2 days": 1, "3 to 7 days": 0, "8 to 30 days": 2}
        self.assertEqual(ages, {**expected, "31 to 90 days": 0, "over 90 days": 0})

    def test_the_previous_period_is_shown_beside(self):
        tile = self.tiles()["received"]
        self.assertEqual(tile.before.number, 0)
        self.assertEqual(tile.trend, "better")  # more received than none before

    def test_on_time_by_district_suppresses_small_groups(self):
        self.sign_in(self.max)
        response = self.client.get("/reports/?map=council_district")
        areas = {a["code"]: a for a in response.context["areas"]}
        self.assertEqual(areas["1"]["on_time"].text, "33%")  # A of A, B and C (past due)
        self.assertEqual(areas["2"]["on_time"].text, "too few (n=2)")
        body = response.content.decode()
        self.assertIn("<svg", body)
        self.assertIn("area=council_district%3A1", body)  # the map's areas click through

    def test_a_district_filter_narrows_every_tile(self):
        tiles = self.tiles("area=council_district:1")
        self.assertEqual(tiles["received"].value.number, 3)
        self.assertEqual(tiles["past_due"].value.number, 1)

    def test_every_tile_links_to_the_work_queue_with_the_same_filters(self):
        tiles = self.tiles("channel=web&area=council_district:1")
        self.sign_in(self.max)
        received = self.client.get(tiles["received"].link)
        self.assertEqual(received.status_code, 200)
        shown = {n for n in (sr.tracking_number for sr in self.r.values())
                 if n in received.content.decode()}  # fmt: skip
        self.assertEqual(shown, {self.r[n].tracking_number for n in "ABC"})
        closed = self.client.get(tiles["closed"].link).content.decode()
        self.assertIn(self.r["A"].tracking_number, closed)
        self.assertNotIn(self.r["C"].tracking_number, closed)

    def test_the_formula_is_shown_with_each_number(self):
        self.sign_in(self.max)
        body = self.client.get("/reports/").content.decode()
        self.assertIn("Closed on time ÷ (closed with a due date + open past due)", body)


class InformationContactsTests(HandBuiltCity):
    """The call centre's information-only contacts, read from its contact log: Omar answers
    three callers and an e-mail with information only, and files one request by phone."""

    def answer(self, kind: str, *, channel: str = "phone", days_ago: int = 1, **what) -> None:
        at = self.now - timedelta(days=days_ago)
        contact = contacts.start_interaction(channel=channel, by=self.omar, at=at)
        contacts.end_interaction(contact, kind=kind, by=self.omar, at=at + 3 * 60 * SECOND, **what)

    def test_a_city_with_no_contact_log_shows_no_figure(self):
        value = self.tiles()["information"].value
        self.assertIsNone(value.number)
        self.assertEqual(value.text, "—")

    def test_information_only_contacts_are_counted_from_the_contact_log(self):
        self.answer("information", service_type=self.pothole)
        self.answer("information", service_type=self.tree)
        self.answer("information")
        self.answer("information", channel="email", days_ago=2)
        self.answer("information", days_ago=40)  # before the period
        self.answer("new_request", service_type=self.pothole)
        tiles = self.tiles()
        self.assertEqual(tiles["information"].value.number, 4)
        self.assertEqual(tiles["information"].before.number, 1)
        self.assertEqual(tiles["information"].trend, "")  # more is neither better nor worse
        self.assertEqual(self.tiles("type=pothole")["information"].value.number, 1)
        self.assertEqual(self.tiles("department=parks")["information"].value.number, 1)
        self.assertEqual(self.tiles("channel=email")["information"].value.number, 1)
        # A contact has no place: a district's dashboard has no figure rather than a wrong one.
        self.assertIsNone(self.tiles("area=council_district:1")["information"].value.number)

    def test_a_supervisor_counts_her_departments_contacts(self):
        self.answer("information", service_type=self.pothole)
        self.answer("information", service_type=self.tree)
        self.assertEqual(self.tiles(user=self.sofia)["information"].value.number, 1)


class RollupTests(HandBuiltCity):
    def snapshot(self) -> list[tuple]:
        return sorted(DayTotal.objects.exclude(received=0, closed=0, open_now=0, open_due=0,
                                               responded=0).values_list())  # fmt: skip

    def totals(self) -> list[tuple]:
        fields = [f.attname for f in DayTotal._meta.concrete_fields if f.attname != "id"]
        return sorted(
            tuple(row[f] for f in fields)
            for row in DayTotal.objects.values(*fields)
            if any(row[f] for f in fields[8:])
        )

    def test_a_second_delivery_of_the_same_events_changes_nothing(self):
        before = self.totals()
        from city311.reports.rollup import refresh

        refresh(sr.pk for sr in self.r.values())
        self.assertEqual(self.totals(), before)

    def every_row(self) -> dict[str, list[tuple]]:
        """Every fact, and every total and summary that counts something."""
        rows: dict[str, list[tuple]] = {
            "facts": sorted(
                (*row[:7], sorted(row[7].items()), *row[8:])
                for row in RequestFact.objects.values_list()
            )
        }
        for model in (DayTotal, DaySummary, MonthTotal, MonthSummary):
            fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
            rows[model.__name__] = sorted(
                tuple(round(row[f], 3) if f == "closed_seconds" else row[f] for f in fields)
                for row in model.objects.values(*fields)
                if any(row[f] for f in fields[8:])
            )
        return rows

    def test_the_rebuild_command_counts_what_the_stream_counted(self):
        # The stream counted in Python, request by request; the rebuild recounts in SQL.
        before = self.every_row()
        out = StringIO()
        call_command("rebuild_reports", stdout=out)
        self.assertIn("Counted 8 requests", out.getvalue())
        self.assertEqual(RequestFact.objects.count(), 8)
        after = self.every_row()
        for table, rows in before.items():
            self.assertTrue(rows, table)
            self.assertEqual(after[table], rows, table)

    def test_the_rebuild_builds_every_index_and_key_of_the_rollups_again(self):
        # On PostgreSQL the rebuild sets them aside while it writes the empty tables.
        def schema() -> dict[str, object]:
            with connection.cursor() as cursor:
                return {
                    table: connection.introspection.get_constraints(cursor, table)
                    for table in recount.ROLLUPS
                }

        before = schema()
        call_command("rebuild_reports", stdout=StringIO())
        self.assertEqual(schema(), before)
        # The day totals' unique key holds again: the stream's upserts need it.
        actions.close_request(self.r["G"], resolution="completed", note="Done.", by=self.dana)
        dispatch_events()
        self.assertEqual(self.tiles()["closed"].value.number, 6)

    def test_a_set_wise_catch_up_moves_the_totals_as_the_stream_does(self):
        # After a bulk load the stream's batches name many requests at once: they are
        # recounted in SQL, the old facts counted out and the new ones in.
        actions.close_request(self.r["G"], resolution="completed", note="Done.", by=self.dana)
        actions.reopen_request(self.r["A"], reason="Sunk again", by=self.dana)
        actions.resume_request(self.r["D"], by=self.dana)
        with mock.patch.object(rollup, "SET_WISE_FROM", 1):
            dispatch_events()
        set_wise = self.every_row()
        call_command("rebuild_reports", stdout=StringIO())
        self.assertEqual(self.every_row(), set_wise)
        # And the facts read in SQL are the facts read in Python, field for field.
        ids = [sr.pk for sr in self.r.values()]
        stored = RequestFact.objects.in_bulk(ids)
        for pk, fact in rollup.read_facts(ids).items():
            self.assertTrue(rollup._same(stored[pk], fact), pk)
        # G closed, A reopened: still five closed in the last 30 days.
        self.assertEqual(self.tiles()["closed"].value.number, 5)

    def test_a_request_filed_now_is_in_todays_figures(self):
        self.report()
        dispatch_events()
        tiles = self.tiles("period=today")
        self.assertEqual(tiles["received"].value.number, 1)

    def test_closing_moves_a_request_from_open_to_closed(self):
        actions.close_request(self.r["G"], resolution="completed", note="Done.", by=self.dana)
        dispatch_events()
        tiles = self.tiles()
        self.assertEqual(tiles["open"].value.number, 2)
        self.assertEqual(tiles["closed"].value.number, 6)


class AccessTests(HandBuiltCity):
    def test_staff_call_takers_and_other_departments_staff_may_not_open_the_reports(self):
        for person in (self.dana, self.omar, self.pat):
            self.sign_in(person)
            self.assertEqual(self.client.get("/reports/").status_code, 403, person)

    def test_someone_signed_out_is_sent_to_sign_in(self):
        response = self.client.get("/reports/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/", response["Location"])

    def test_a_supervisor_sees_only_her_departments_figures(self):
        tree = self.report(service_code="fallen_tree", answers={})
        dispatch_events()
        self.assertEqual(tree.department, self.parks)
        self.assertEqual(self.tiles(user=self.max)["received"].value.number, 9)
        self.assertEqual(self.tiles(user=self.sofia)["received"].value.number, 8)
        parks = self.tiles("department=parks", user=self.sofia)
        self.assertEqual(parks["received"].value.number, 0)

    def test_a_bad_filter_is_a_400_that_says_what_to_fix(self):
        self.sign_in(self.max)
        for query, words in (
            ("type=nope", "There is no service type"),
            ("group=nope", "There is no group “nope”"),
            ("department=nope", "There is no department “nope”"),
            ("team=nope", "There is no team “nope”"),
            ("area=nope", "kind:code"),
            ("since=2026-05-01", "Give both dates"),
            ("since=2026-05-02&until=2026-05-01", "swap the dates"),
            ("channel=fax", "Channel"),
        ):
            response = self.client.get(f"/reports/?{query}")
            self.assertEqual(response.status_code, 400, query)
            self.assertIn(words, response.content.decode(), query)
        # A Spanish reader is told in Spanish.
        response = self.client.get("/reports/?team=nope", HTTP_ACCEPT_LANGUAGE="es")
        self.assertEqual(response.status_code, 400)
        self.assertIn("No existe el equipo “nope”", response.content.decode())


@override_settings(CITY311_REPORTS_MIN_N=3)
class ActionsTakenTests(HandBuiltCity):
    def test_closings_are_counted_by_resolution_per_type(self):
        self.sign_in(self.max)
        response = self.client.get("/reports/actions/")
        self.assertEqual(response.status_code, 200)
        (pothole,) = response.context["by_type"]
        self.assertEqual(pothole["counts"], {"completed": 4, "no_action": 1})

    def test_closing_notes_are_searchable(self):
        self.sign_in(self.max)
        response = self.client.get("/reports/actions/?q=filled")
        notes = [e.note for e in response.context["notes"]]
        # E's first closing was on day -4 and its second on day -1; A's on day -9.
        self.assertEqual(notes, ["Filled again.", "Filled.", "Filled the hole with cold patch."])
        self.assertNotIn(self.r["B"].tracking_number, response.content.decode())

    def test_short_notes_are_counted(self):
        self.sign_in(self.max)
        response = self.client.get("/reports/actions/")
        # 6 closings in the period (E's twice); only A's note has 4 words or more.
        self.assertEqual(response.context["total"], 6)
        self.assertEqual(response.context["short"], 5)


class MonthlyReportTests(HandBuiltCity):
    def month(self) -> str:
        return f"{city_today():%Y-%m}"

    def test_the_page_has_type_by_department_rows_citywide_and_by_district(self):
        self.sign_in(self.max)
        response = self.client.get(f"/reports/monthly/?month={self.month()}")
        self.assertEqual(response.status_code, 200)
        report = response.context["report"]
        self.assertEqual(report.kinds, [("council_district", "Council district")])
        self.assertIn("By council district", response.content.decode())

    def test_the_csv_counts_received_by_status_and_the_average_time(self):
        self.sign_in(self.max)
        response = self.client.get(f"/reports/monthly.csv?month={self.month()}")
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        lines = response.content.decode().splitlines()
        self.assertTrue(lines[0].startswith("Area kind,Area,Type,Department,Received,Open,"))
        self.assertTrue(
            any(line.startswith("Citywide,Citywide,Pothole,Streets,") for line in lines)
        )

    def test_the_pdf_is_a_pdf(self):
        self.sign_in(self.max)
        response = self.client.get(f"/reports/monthly.pdf?month={self.month()}")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.content.startswith(b"%PDF"))

    def test_a_bad_month_is_a_400(self):
        self.sign_in(self.max)
        response = self.client.get("/reports/monthly/?month=November")
        self.assertEqual(response.status_code, 400)
        self.assertIn("YYYY-MM", response.content.decode())

    def test_the_schedule_writes_last_months_files_once(self):
        from city311.reports import monthly, tasks

        for old in monthly.archive_dir().glob("monthly-*"):
            old.unlink()
        written = tasks.write_monthly_reports()
        self.assertEqual([name[-3:] for name in written], ["csv", "pdf"])
        self.assertEqual(tasks.write_monthly_reports(), [])


@override_settings(CITY311_REPORTS_MIN_N=3)
class LongPeriodTests(HandBuiltCity):
    def test_whole_months_read_from_the_month_totals_give_the_same_answers(self):
        today = city_today()
        first = (today.replace(day=1) - 60 * DAY).replace(day=1)
        long = self.tiles(f"since={first}&until={today}")
        short = self.tiles()
        for key in ("received", "closed", "on_time", "close_median", "reopen_rate"):
            self.assertEqual(long[key].value.text, short[key].value.text, key)

    def test_every_filter_reads_the_same_over_whole_months_as_over_days(self):
        # The whole months of a long period are read from the month summaries where the
        # filter allows (reports.queries.summary_for), else from the month totals; the last
        # 30 days from the day totals. All the requests are in both periods.
        today = city_today()
        first = (today.replace(day=1) - 60 * DAY).replace(day=1)
        self.sign_in(self.sofia)  # a supervisor: her departments' rows
        self.assert_same_over_months_and_days(first, today, ("", "area=council_district:1"))
        self.sign_in(self.max)
        self.assert_same_over_months_and_days(first, today, (
            "", "area=council_district:1", "type=pothole", "channel=phone",
                      "group=Streets", "department=transportation", "urgency=normal",
                      "type=pothole&area=council_district:2", "channel=web&map=council_district",
                      "type=pothole&channel=web"))  # fmt: skip

    def test_the_map_and_types_of_a_period_that_is_over_read_the_totals_once(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from city311.reports import queries

        today = city_today()
        start, end = today - 12 * DAY, today - DAY
        cut = queries.cut_for(None, {})
        with CaptureQueriesContext(connection) as read:
            areas = queries.by_area(cut, "council_district", start, end, today)
            types = queries.by_type(cut, start, end, today)
        totals = [q for q in read.captured_queries if "reports_" in q["sql"]]
        # One read per table the period spans (days, or months and days), per answer.
        self.assertEqual(len(totals), 2 * len(queries.parts(start, end)))
        past_due = {row["code"]: row["past_due"] for row in areas}
        self.assertEqual(past_due, {"1": 1, "2": 0})  # C, due 4 days ago; D is held
        self.assertEqual([(row["name"], row["past_due"]) for row in types], [("Pothole", 1)])

    def assert_same_over_months_and_days(self, first, today, queries) -> None:
        for query in queries:
            long = self.client.get(f"/reports/?since={first}&until={today}&{query}").context
            short = self.client.get(f"/reports/?{query}").context
            for a, b in zip(long["tiles"], short["tiles"], strict=True):
                self.assertEqual(a.value.text, b.value.text, (query, a.metric.key))
            for name, keys in (("channels", ("channel", "n")), ("types", ("name", "received",
                               "closed", "past_due")), ("areas", ("code", "received", "closed",
                               "past_due"))):  # fmt: skip
                rows = [[row[k] for k in keys] for row in long[name]]
                self.assertEqual(rows, [[row[k] for k in keys] for row in short[name]], query)
            self.assertEqual(
                sum(row["received"] for row in long["series"]),
                sum(row["received"] for row in short["series"]),
            )

    def test_the_month_summaries_are_the_month_totals_summed(self):
        from city311.reports import rollup

        by_the_stream = counting_rows(MonthSummary)
        self.assertTrue(by_the_stream)
        MonthSummary.objects.all().delete()
        rollup.summarise_months()  # the bulk path, in one SQL statement
        self.assertEqual(counting_rows(MonthSummary), by_the_stream)

    def test_the_day_summaries_are_the_day_totals_summed_by_area(self):
        from city311.reports import rollup

        by_the_stream = counting_rows(DaySummary)
        # One row a day an area counted something in: the city's and each district's.
        self.assertTrue(any(row[6] == "" for row in by_the_stream))
        self.assertTrue(any(row[6] == "council_district" for row in by_the_stream))
        DaySummary.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(rollup.SUMMARISE_DAYS_SQL)  # the bulk path (migration, benchmark)
        self.assertEqual(counting_rows(DaySummary), by_the_stream)

    def test_a_long_period_charts_by_month(self):
        self.sign_in(self.max)
        today = city_today()
        response = self.client.get(f"/reports/?since={today - 400 * DAY}&until={today}&by=day")
        self.assertEqual(response.context["grain"], "month")
        self.assertEqual(sum(row["received"] for row in response.context["series"]), 8)


def counting_rows(model: type) -> list[tuple]:
    """A totals table's rows that count something, without ids, sorted; seconds rounded (they
    are floats, summed in another order by each path)."""
    fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
    rows = model.objects.values_list(*fields)
    rounded = (tuple(round(v, 3) if isinstance(v, float) else v for v in r) for r in rows)
    return sorted(row for row in rounded if any(row[8:]))


class OpenPointsTests(HandBuiltCity):
    """The dashboard's map of open requests: C, D and G are open (C past due)."""

    def open_map(self, query: str = "") -> str:
        self.sign_in(self.max)
        response = self.client.get(f"/reports/?{query}")
        self.assertEqual(response.status_code, 200)
        page = response.content.decode()
        return page[page.index('id="open-map"') : page.index('id="backlog"')]

    def test_each_open_request_is_a_point_linking_to_it_in_the_work_queue(self):
        section = self.open_map()
        links = re.findall(r'<a class="point" href="([^"]+)"', section)
        expected = [f"/work/requests/{self.r[name].tracking_number}/" for name in "CDG"]
        self.assertEqual(sorted(links), sorted(expected))
        c = self.r["C"].tracking_number
        self.assertIn(f'aria-label="{c}, Pothole, open 9 days, overdue"', section)
        g = self.r["G"].tracking_number
        self.assertIn(f'aria-label="{g}, Pothole, open 1 days"', section)
        for name in "ABEFH":
            self.assertNotIn(self.r[name].tracking_number, section)
        self.assertEqual(self.client.get(expected[0]).status_code, 200)

    def test_no_personal_data_is_on_the_map(self):
        section = self.open_map()
        for private in ("Rosa", "Diaz", "rosa@example.org", "718-555-0199", "Dumont", "Deep hole"):
            self.assertNotIn(private, section)

    def test_the_points_follow_the_filters(self):
        section = self.open_map("channel=phone")
        self.assertEqual(section.count('class="point"'), 1)
        self.assertIn(self.r["G"].tracking_number, section)

    def test_past_the_cap_nearby_requests_are_drawn_together(self):
        # G moved into district 1: the circle there links to its square's own open work.
        areas = {"council_district": {"code": "1", "name": "District 1"}}
        ServiceRequest.objects.filter(pk=self.r["G"].pk).update(lat=40.62, long=-73.98, areas=areas)
        with mock.patch.object(points, "CAP", 2):
            section = self.open_map()
        self.assertNotIn('class="point"', section)
        self.assertIn("3 open requests with a place: more than 2", section)
        self.assertIn('aria-label="1 open request near here (District 1)"', section)
        self.assertIn('aria-label="2 open requests near here (—)"', section)
        link = re.search(r'<a class="cluster" href="([^"]+)" aria-label="1 open', section)
        assert link is not None
        self.assertIn("box=", link[1])
        queue = self.client.get(html.unescape(link[1]))
        self.assertEqual(queue.status_code, 200)
        self.assertContains(queue, self.r["G"].tracking_number)
        self.assertNotContains(queue, self.r["D"].tracking_number)  # not in district 1

    def test_with_no_open_request_the_map_says_so(self):
        section = self.open_map("channel=email")
        self.assertIn("No open request with a place in this selection.", section)
