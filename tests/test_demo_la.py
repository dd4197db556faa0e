"""Los Angeles, the second demo city: its real MyLA311 records as history, its catalog, routing
and calendar, and no New York left anywhere a resident, a client or staff can see."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import date, datetime, timedelta
from itertools import islice
from types import SimpleNamespace

import yaml
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import TestCase

from city311.catalog.calendar import Calendar
from city311.catalog.models import ServiceType, SlaUnit
from city311.demo import build_la, la
from city311.demo.loader import load_pack
from city311.pickups.schedule import Schedules
from city311.servicerequests.errors import SubmissionInvalid
from city311.servicerequests.imports import import_history
from city311.servicerequests.intake import submit_request
from city311.servicerequests.models import Channel, Resolution, ServiceRequest, Status
from city311.servicerequests.validation import Submission

# Words that would give New York away: its name, boroughs, area codes, state, Spanish name.
NEW_YORK = re.compile(
    r"New York|Nueva York|\bNYC|Brooklyn|Manhattan|Queens|Bronx|Staten Island|Dumont"
    r"|\b(212|718|917|646|347)-\d{3}-\d{4}\b|\((212|718)\)|, NY\b|\bNY \d{5}|America/New_York",
    re.IGNORECASE,
)
# Real places from the records: a house in North Central, one in the East Valley.
KOREATOWN = "356 S Berendo St"
VAN_NUYS = "14212 W Vanowen St"  # an address point of the file: exact, so routed by area
SOME_RECORDS = 600


def catalog_codes() -> set[str]:
    catalog = yaml.safe_load((build_la.PACK / "catalog.yaml").read_text())
    return {t["service_code"] for t in catalog["service_types"]}


class RecordsTests(TestCase):
    """The three record files, with their different columns, read as history."""

    @classmethod
    def setUpTestData(cls):
        cls.rows = [row for path in build_la.record_files() for row in build_la.read_rows(path)]
        cls.records = [la.to_record(row) for row in cls.rows]

    def test_it_reads_every_row_of_the_three_files(self):
        self.assertEqual(len(build_la.record_files()), 3)
        self.assertEqual(len(self.records), len(self.rows))
        self.assertEqual(len(self.records), 29_999)

    def test_every_request_type_maps_onto_a_type_the_catalog_has(self):
        types = {row["requesttype"] for row in self.rows}
        self.assertEqual(types - set(la.SERVICE_CODES), set())
        self.assertLessEqual({r.service_code for r in self.records}, catalog_codes())

    def test_bulky_items_are_the_biggest_service(self):
        counts = Counter(r.service_code for r in self.records)
        self.assertEqual(counts.most_common(1)[0][0], "bulky_items")
        self.assertGreater(counts["bulky_items"], 0.4 * len(self.records))

    def test_sources_become_channels_and_drivers_count_as_city_staff(self):
        by_source = Counter(
            (row["requestsource"], r.channel)
            for row, r in zip(self.rows, self.records, strict=True)
        )
        self.assertGreater(by_source[("Call", Channel.PHONE)], 10_000)
        self.assertGreater(by_source[("Mobile App", Channel.MOBILE_APP)], 5_000)
        self.assertGreater(by_source[("Self Service", Channel.WEB)], 3_000)
        self.assertGreater(by_source[("Driver Self Report", Channel.STAFF)], 5_000)
        self.assertGreater(by_source[("Email", Channel.EMAIL)], 50)
        unknown = sum(n for (_, channel), n in by_source.items() if channel == Channel.IMPORT)
        self.assertLess(unknown, 5)

    def test_statuses_become_outcomes_and_open_ones_stay_open(self):
        outcome = Counter(
            (row["status"], r.resolution if r.closed_at else "open")
            for row, r in zip(self.rows, self.records, strict=True)
        )
        self.assertGreater(outcome[("Closed", Resolution.COMPLETED)], 29_000)
        self.assertGreater(outcome[("Cancelled", Resolution.CANCELLED)], 700)
        self.assertEqual(outcome[("Referred Out", Resolution.REFERRED)], 20)
        self.assertEqual(outcome[("Open", "open")] + outcome[("Pending", "open")], 36)

    def test_a_bulky_item_carries_its_scheduled_collection_day(self):
        record = next(r for r in self.records if r.external_id == "1-870704814")
        self.assertEqual(record.service_code, "bulky_items")
        self.assertEqual(record.channel, Channel.MOBILE_APP)
        self.assertIn("Saturday, January 6, 2018", record.description)
        self.assertIn("Saturday, January 6, 2018", record.resolution_note)
        self.assertEqual(record.address_string, "356 S BERENDO ST")
        self.assertEqual(record.zipcode, "90020")

    def test_both_date_formats_read_as_los_angeles_time(self):
        first = next(r for r in self.records if r.external_id == "1-870704814")
        self.assertEqual(first.requested_at.utcoffset(), timedelta(hours=-8))
        self.assertEqual(first.requested_at.replace(tzinfo=None), datetime(2018, 1, 1, 0, 0, 9))
        seed = next(r for r in self.records if r.external_id == "1-1523590121")
        self.assertEqual(seed.requested_at.replace(tzinfo=None), datetime(2020, 1, 1, 0, 5))
        self.assertIsNotNone(seed.closed_at)

    def test_no_record_closes_before_it_was_opened(self):
        self.assertFalse([r for r in self.records if r.closed_at and r.closed_at < r.requested_at])


class HolidayRuleTests(TestCase):
    """LA Sanitation's rule, stored in the pack (pickups.yaml) and read by the pickup engine,
    against the records."""

    @classmethod
    def setUpTestData(cls):
        load_pack("la", sections={"boundaries", "pickups"})

    def setUp(self):
        schedules = Schedules.load()
        self.rule = SimpleNamespace(collection_day=lambda day: schedules.day_for(day).day)

    def test_on_a_holiday_week_the_holiday_and_later_days_slide_one_day(self):
        # Christmas 2017 was a Monday.
        self.assertEqual(self.rule.collection_day(date(2017, 12, 25)), date(2017, 12, 26))
        self.assertEqual(self.rule.collection_day(date(2017, 12, 29)), date(2017, 12, 30))
        # Thanksgiving 2017 was a Thursday: Monday to Wednesday keep their day.
        self.assertEqual(self.rule.collection_day(date(2017, 11, 21)), date(2017, 11, 21))
        self.assertEqual(self.rule.collection_day(date(2017, 11, 23)), date(2017, 11, 24))
        self.assertEqual(self.rule.collection_day(date(2017, 11, 24)), date(2017, 11, 25))

    def test_a_week_without_a_collection_holiday_does_not_slide(self):
        # Presidents' Day is a city holiday but not a collection holiday.
        self.assertEqual(self.rule.collection_day(date(2018, 2, 19)), date(2018, 2, 19))
        self.assertEqual(self.rule.collection_day(date(2018, 1, 12)), date(2018, 1, 12))

    def test_an_observed_holiday_slides_its_week(self):
        # New Year's Day 2023 was a Sunday, observed on Monday 2 January.
        self.assertEqual(self.rule.collection_day(date(2023, 1, 6)), date(2023, 1, 7))

    def test_it_explains_the_records_saturday_collections(self):
        """The records' bulky-item service days fall on Saturdays only in holiday weeks."""
        saturdays: Counter[bool] = Counter()
        for path in build_la.record_files():
            for row in build_la.read_rows(path):
                day = la.parse_time(row.get("servicedate", ""))
                if row["requesttype"] != "Bulky Items" or day is None or day.weekday() != 5:
                    continue
                friday = day.date() - timedelta(days=1)
                saturdays[self.rule.collection_day(friday) == day.date()] += 1
        self.assertGreater(saturdays[True], 2_000)
        self.assertEqual(saturdays[False], 0)


class LosAngelesTests(TestCase):
    """The pack imported and some of its records loaded, as `city311 demo --city la` does."""

    @classmethod
    def setUpTestData(cls):
        out = io.StringIO()
        # Without the made-up recent activity: its random addresses include LA's own
        # "S Manhattan Pl", which the check for New York words below would take for New York.
        call_command("demo", city="la", no_records=True, no_activity=True, stdout=out, verbosity=0)
        cls.demo_output = out.getvalue()
        import_history(islice(la.records(), SOME_RECORDS), source=la.SOURCE)
        cls.sam = User.objects.get(username="sam")
        cls.ada = User.objects.get(username="ada")
        cls.omar = User.objects.get(username="omar")

    def test_the_demo_command_loads_the_city_and_prints_new_sign_ins(self):
        self.assertIn("City pack la:", self.demo_output)
        for username in ("omar", "sam", "lucia", "sofia", "max", "ada"):
            self.assertIn(username, self.demo_output)
            self.assertTrue(User.objects.get(username=username).has_usable_password())

    def file(self, service_code: str, address: str, **answers: object) -> ServiceRequest:
        return submit_request(
            Submission(
                service_code=service_code,
                channel=Channel.WEB,
                address_string=address,
                description="Left on the curb",
                answers=answers,
            )
        )

    def test_the_records_are_history_with_their_channels_and_outcomes(self):
        imported = ServiceRequest.objects.filter(application=la.SOURCE)
        self.assertEqual(imported.count(), SOME_RECORDS)
        self.assertTrue(imported.filter(channel=Channel.STAFF).exists())
        self.assertTrue(imported.filter(resolution=Resolution.CANCELLED).exists())
        self.assertFalse(imported.filter(status=Status.CLOSED, resolution="").exists())
        self.assertGreater(imported.exclude(areas={}).count(), 0.8 * SOME_RECORDS)

    def test_bulky_items_go_to_the_crews_of_their_collection_district(self):
        koreatown = self.file("bulky_items", KOREATOWN, items=["mattress"], item_count=2)
        self.assertEqual(koreatown.department.slug, "sanitation-north-central")
        van_nuys = self.file("bulky_items", VAN_NUYS, items=["furniture"], item_count=1)
        self.assertEqual(van_nuys.department.slug, "sanitation-east-valley")

    def test_graffiti_goes_to_community_beautification(self):
        sr = self.file("graffiti_removal", KOREATOWN, surface="wall")
        self.assertEqual(sr.department.slug, "community-beautification")

    def test_imported_bulky_items_were_routed_by_district_too(self):
        bulky = ServiceRequest.objects.filter(
            application=la.SOURCE, service_type__service_code="bulky_items"
        ).exclude(areas={})
        self.assertTrue(bulky.exists())
        self.assertFalse(bulky.filter(department__slug="sanitation").exists())

    def test_a_place_outside_the_city_is_refused_with_the_city_referral(self):
        outside = Submission(
            service_code="graffiti_removal",
            channel=Channel.WEB,
            lat=34.0195,  # Santa Monica Pier
            long=-118.4912,
            answers={"surface": "wall"},
        )
        with self.assertRaises(SubmissionInvalid) as raised:
            submit_request(outside)
        self.assertEqual(raised.exception.codes["location"], ["outside_city"])
        self.assertIn("outside the City of Los Angeles", raised.exception.message)

    def test_the_geocoder_finds_record_addresses_as_angelenos_write_them(self):
        for query in (
            "356 S Berendo St",
            "356 South Berendo Street, Los Angeles, CA 90020",
            "356 s berendo st, Koreatown",
        ):
            with self.subTest(query):
                response = self.client.get("/api/geocode", {"q": query})
                candidates = response.json()["candidates"]
                self.assertTrue(candidates, query)
                self.assertIn("356", candidates[0]["address"])
                self.assertIn("BERENDO", candidates[0]["address"].upper())

    def test_the_geocoder_knows_the_places_angelenos_name(self):
        response = self.client.get("/api/geocode", {"q": "MacArthur Park"})
        self.assertIn("MacArthur Park", response.json()["candidates"][0]["address"])

    def test_business_hours_count_los_angeles_hours_and_california_holidays(self):
        calendar = Calendar()
        self.assertEqual(str(calendar.tz), "America/Los_Angeles")
        # Cesar Chavez Day, 31 March 2026, a Tuesday: a California holiday.
        self.assertTrue(calendar.is_holiday(date(2026, 3, 31)))
        start = datetime(2026, 3, 30, 16, 0, tzinfo=calendar.tz)  # Monday, an hour before closing
        due = calendar.add_business_hours(start, 2).astimezone(calendar.tz)
        self.assertEqual((due.date(), due.hour), (date(2026, 4, 1), 9))

    def test_the_water_waste_target_counts_business_hours(self):
        water = ServiceType.objects.get(service_code="water_waste")
        self.assertEqual((water.sla_amount, water.sla_unit), (40, SlaUnit.BUSINESS_HOURS))

    def test_the_catalog_speaks_spanish(self):
        response = self.client.get("/report/", HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(response, "Recolección de artículos voluminosos")
        self.assertContains(response, "Eliminación de grafiti")

    def test_a_resident_finds_the_bulky_item_day_of_an_la_address(self):
        page = self.client.get("/pickups/", {"address": KOREATOWN})
        self.assertContains(page, "Bulky items (by appointment)")
        answer = self.client.get("/api/pickups", {"address": KOREATOWN}).json()
        bulky = [c for c in answer["collections"] if c["collection"] == "bulky"]
        self.assertTrue(bulky and bulky[0]["next"], answer)
        first = date.fromisoformat(bulky[0]["next"][0]["date"])
        self.assertGreaterEqual(first, date.today() - timedelta(days=1))
        spanish = self.client.get("/pickups/", {"address": KOREATOWN}, HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(spanish, "Artículos voluminosos (con cita)")

    def test_no_new_york_is_left_in_any_page_or_answer(self):
        sr = self.file("bulky_items", KOREATOWN, items=["mattress"], item_count=2)
        imported = ServiceRequest.objects.filter(application=la.SOURCE).first()
        assert imported is not None
        public = [
            "/",
            "/report/",
            "/report/bulky_items/",
            "/track/",
            f"/track/{sr.tracking_number}",
            f"/track/{imported.tracking_number}",
            "/requests/",
            "/pickups/",
            "/pickups/?address=356+S+Berendo+St",
            "/help/",
            "/facilities/",
            "/events/",
            "/today/",
            "/offline/",
            "/manifest.webmanifest",
            "/api/docs",
            "/open311/v2/discovery.json",
            "/open311/v2/services.json",
            "/open311/v2/services.xml",
            "/open311/v2/services/bulky_items.json",
            "/open311/v2/requests.json",
            "/open311/v2/requests.xml",
            f"/open311/v2/requests/{sr.tracking_number}.json",
            "/open311/v2/openapi.json",
        ]
        staff = {
            self.sam: ["/work/", f"/work/requests/{sr.tracking_number}/"],
            self.omar: ["/console/", "/console/new/bulky_items/"],
            self.ada: [
                "/admin/",
                "/admin/catalog/servicetype/",
                "/admin/catalog/department/",
                "/admin/servicerequests/servicerequest/",
            ],
        }
        pages = [(None, url, language) for url in public for language in ("en", "es")]
        pages += [
            (None, "/api/geocode?q=356+S+Berendo+St", "en"),
            (None, "/api/autocomplete?q=356+S+Beren", "en"),
            (None, "/api/geocode", "en"),  # the problem's example must be an LA address
        ]
        pages += [(user, url, "en") for user, urls in staff.items() for url in urls]
        for user, url, language in pages:
            with self.subTest(url=url, language=language, user=user):
                self.client.logout()
                if user is not None:
                    self.client.force_login(user)
                response = self.client.get(url, HTTP_ACCEPT_LANGUAGE=language, follow=True)
                self.assertIn(response.status_code, (200, 400), url)
                text = response.content.decode()
                found = NEW_YORK.search(text)
                self.assertIsNone(found, found and text[found.start() - 80 : found.end() + 80])
