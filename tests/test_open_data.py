"""Open data: the public exports and `import_nyc`, through their pages and commands.

Rosa (resident) reports a pothole and writes her phone number and e-mail into it; her name,
e-mail and phone are also her contact details. Nothing of hers but her redacted words may
reach any export. A homeless-encampment report is of a sensitive type: the city withholds its
descriptions, so its point is rounded and its address left out.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from city311.catalog.models import ServiceType
from city311.cities import profile
from city311.demo import loader
from city311.geo.models import Boundary
from city311.reports import nyc, nycimport, opendata
from city311.reports.models import (
    DaySummary,
    DayTotal,
    HeatCell,
    MonthSummary,
    MonthTotal,
    RequestFact,
)
from city311.servicerequests import actions, bulk, stream
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.test import BaseTestCase, city_today
from tests import small_city

PACK_HISTORY = Path(__file__).resolve().parent.parent / "city311/demo/cities/nyc/history"
PERSONAL = ("Rosa", "Diaz", "rosa@example.org", "718-555-0199", "7185550199")
FORMATS = ("nyc", "georeport", "geojson", "parquet")


def as_text(code: str, body: bytes) -> str:
    """Every value of an export as text, whatever its format."""
    if code == "parquet":
        return json.dumps(pq.read_table(pa.BufferReader(body)).to_pylist(), default=str)
    return body.decode()


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


class OpenDataTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.encampment = ServiceType.objects.create(
            service_code="homeless_encampment",
            service_name="Homeless encampment",
            department=cls.streets,
            publish_description=False,
        )
        cls.pothole_sr = cls.report(  # type: ignore[call-arg]
            cls,
            description="Deep hole, call me at 718-555-0199 or rosa@example.org",
        )
        cls.camp_sr = cls.report(  # type: ignore[call-arg]
            cls,
            service_code="homeless_encampment",
            description="A man named Joe sleeps here, Rosa Diaz",
            lat=40.678249,
            long=-73.944161,
            address_string="1382 Dumont Ave, Brooklyn",
        )
        actions.close_request(
            cls.pothole_sr,
            resolution="completed",
            note="Filled. Questions: call 718-555-0199.",
            by=cls.dana,
        )

    def written_around_the_actions(self) -> None:
        """After a raw UPDATE (no event in the history): what an operator then runs."""
        call_command("rebuild_reports", stdout=io.StringIO())

    def download(self, code: str, **query: str) -> bytes:
        response = self.client.get(f"/open-data/{code}/download", query)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.streaming)
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]


class PagesTests(OpenDataTestCase):
    def test_anyone_sees_the_index_with_every_format_and_its_dictionary(self):
        response = self.client.get("/open-data/")
        self.assertEqual(response.status_code, 200)
        for code in FORMATS:
            self.assertContains(response, f"/open-data/{code}/download")
            self.assertContains(response, f'href="/open-data/{code}/"')

    def test_the_index_passes_the_date_range_to_the_download_links(self):
        response = self.client.get("/open-data/", {"since": "2026-01-01", "until": "2026-01-31"})
        self.assertContains(
            response, "/open-data/nyc/download?since=2026-01-01&amp;until=2026-01-31"
        )

    def test_each_dictionary_names_every_column_of_its_file(self):
        for code in FORMATS:
            response = self.client.get(f"/open-data/{code}/")
            self.assertEqual(response.status_code, 200)
            for column in opendata.FORMATS[code].columns():
                self.assertContains(response, f"<code>{column.name}</code>")

    def test_the_nyc_dictionary_lists_the_41_columns(self):
        response = self.client.get("/open-data/nyc/")
        self.assertEqual(response.content.decode().count("<code>"), 41)

    def test_the_pages_are_in_spanish_for_a_spanish_reader(self):
        response = self.client.get("/open-data/", headers={"accept-language": "es"})
        self.assertContains(response, "Datos abiertos")
        response = self.client.get("/open-data/georeport/", headers={"accept-language": "es"})
        self.assertContains(response, "Diccionario de datos")

    def test_an_unknown_format_is_404(self):
        self.assertEqual(self.client.get("/open-data/xlsx/download").status_code, 404)
        self.assertEqual(self.client.get("/open-data/xlsx/").status_code, 404)

    def test_a_bad_date_range_is_a_400_that_says_what_to_fix(self):
        response = self.client.get(
            "/open-data/nyc/download", {"since": "2026-02-01", "until": "2026-01-01"}
        )
        self.assertContains(response, "swap them", status_code=400)
        response = self.client.get("/open-data/nyc/download", {"since": "yesterday"})
        self.assertEqual(response.status_code, 400)


class ExportTests(OpenDataTestCase):
    def test_the_nyc_file_has_nycs_41_columns_in_its_order(self):
        with gzip.open(PACK_HISTORY / "nyc311_pyboot_2022-05_41cols.csv.gz", "rt") as f:
            published = next(csv.reader(f))
        header = next(csv.reader(io.StringIO(self.download("nyc").decode())))
        self.assertEqual(header, published)
        self.assertEqual(len(header), 41)

    def test_the_nyc_file_writes_values_in_nycs_formats(self):
        rows = {r["Unique Key"]: r for r in csv_rows(self.download("nyc"))}
        pothole = rows[self.pothole_sr.tracking_number]
        self.assertRegex(pothole["Created Date"], nyc.US_TIME.pattern)
        self.assertRegex(pothole["Closed Date"], nyc.US_TIME.pattern)
        self.assertEqual(pothole["Status"], "Closed")
        self.assertEqual(pothole["Open Data Channel Type"], "ONLINE")
        self.assertEqual(pothole["Agency"], "TRANSPORTATION")
        self.assertEqual(pothole["Complaint Type"], "Pothole")
        self.assertEqual(pothole["Latitude"], "40.6782")
        self.assertEqual(pothole["Location"], "(40.6782, -73.9442)")
        created = nyc.format_time(self.pothole_sr.requested_at, profile.zone())
        self.assertEqual(pothole["Created Date"], created)
        self.assertEqual(rows[self.camp_sr.tracking_number]["Status"], "Open")

    def test_no_personal_data_reaches_any_export(self):
        for code in FORMATS:
            text = as_text(code, self.download(code))
            self.assertIn(self.pothole_sr.tracking_number, text, code)
            for personal in PERSONAL:
                self.assertNotIn(personal, text, f"{personal} in the {code} export")

    def test_descriptions_and_notes_are_redacted_as_open311_redacts_them(self):
        rows = {r["service_request_id"]: r for r in csv_rows(self.download("georeport"))}
        pothole = rows[self.pothole_sr.tracking_number]
        self.assertEqual(
            pothole["description"], "Deep hole, call me at [phone removed] or [e-mail removed]"
        )
        self.assertIn("[phone removed]", pothole["status_notes"])
        open311 = self.client.get(f"/open311/v2/requests/{self.pothole_sr.tracking_number}.json")
        self.assertEqual(open311.json()[0]["description"], pothole["description"])

    def test_a_sensitive_type_has_no_description_no_address_and_a_rounded_point(self):
        georeport = {r["service_request_id"]: r for r in csv_rows(self.download("georeport"))}
        camp = georeport[self.camp_sr.tracking_number]
        self.assertEqual((camp["description"], camp["address"]), ("", ""))
        self.assertEqual((camp["lat"], camp["long"]), ("40.678", "-73.944"))
        nyc_rows = {r["Unique Key"]: r for r in csv_rows(self.download("nyc"))}
        self.assertEqual(nyc_rows[self.camp_sr.tracking_number]["Location"], "(40.678, -73.944)")
        self.assertEqual(nyc_rows[self.camp_sr.tracking_number]["Incident Address"], "")
        features = json.loads(self.download("geojson"))["features"]
        camp_feature = next(
            f
            for f in features
            if f["properties"]["service_request_id"] == self.camp_sr.tracking_number
        )
        self.assertEqual(camp_feature["geometry"]["coordinates"], [-73.944, 40.678])
        self.assertIsNone(camp_feature["properties"]["description"])
        self.assertTrue(camp_feature["properties"]["sensitive"])

    def test_the_files_are_the_same_whoever_writes_them(self):
        # On PostgreSQL the database writes the CSV and GeoJSON files (reports.sqlcsv,
        # reports.sqlgeojson) and feeds Parquet's row groups (reports.sqlparquet); they must
        # be what the Python writer makes (the same bytes, the same table), also for the
        # values where the two differ: quotes,
        # carriage returns, a lone "\\.", digits of other scripts, names beyond ASCII, whole
        # and tiny coordinates, half-way points of a sensitive type, an earlier system's key.
        odd = [
            ('Says "hi", twice\r\nthen\rleaves', "Near the café", 40.0, -74.0),
            (
                "\\.",
                "Phone \u0667\u0661\u0668\u0665\u0665\u0665\u0660\u0661\u0669\u0669"
                " at \uff52\uff4f\uff53\uff41@example.org",
                0.00001,
                -73.5,
            ),
            ("", "Plain words only", 40.1, None),
        ]
        for kind, code in (("borough", "2"), ("community_district", "212")):
            Boundary.objects.create(
                kind=kind, code=code, name="Québec", geometry={}, min_long=0, min_lat=0,
                max_long=0, max_lat=0,
            )  # fmt: skip
        for notes, description, lat, long in odd:
            sr = self.report(description=description)
            ServiceRequest.objects.filter(pk=sr.pk).update(
                status_notes=notes,
                lat=lat,
                long=long,
                areas={"borough": {"code": "2", "name": "Québec"},
                       "community_district": {"code": "212", "name": "Twelve"}},
            )  # fmt: skip
        ServiceRequest.objects.filter(pk=self.camp_sr.pk).update(lat=40.6785, long=-73.9445)
        ServiceRequest.objects.filter(pk=self.pothole_sr.pk).update(
            historical=True, external_id="NYC-1", address_string="", zipcode="11212"
        )
        self.written_around_the_actions()
        for code in ("nyc", "georeport", "geojson"):
            python = b"".join(opendata.FORMATS[code].write(opendata.records()))
            self.assertEqual(self.download(code), python, code)
            # The database formatting at the download (the lines' own source) likewise.
            self.assertEqual(b"".join(opendata.export(code, ready=False)), python, code)
        self.assertIn("12 QUÉBEC", self.download("nyc").decode())
        # Parquet (reports.sqlparquet on PostgreSQL): the same table, value for value.
        python = b"".join(opendata.write_parquet(opendata.records()))
        written = pq.read_table(pa.BufferReader(self.download("parquet")))
        expected = pq.read_table(pa.BufferReader(python))
        self.assertEqual(written.to_pylist(), expected.to_pylist())
        self.assertTrue(written.schema.equals(expected.schema))

    def test_a_request_filed_a_moment_ago_is_in_every_export(self):
        fresh = self.report(description="Just now")
        for code in FORMATS:
            self.assertIn(fresh.tracking_number, as_text(code, self.download(code)), code)

    def test_the_date_range_selects_by_day_received(self):
        ServiceRequest.objects.filter(pk=self.camp_sr.pk).update(
            requested_at=timezone.now() - timedelta(days=40)
        )
        self.written_around_the_actions()
        today = city_today().isoformat()
        rows = csv_rows(self.download("georeport", since=today, until=today))
        self.assertEqual([r["service_request_id"] for r in rows], [self.pothole_sr.tracking_number])

    def test_parquet_is_typed_and_written_in_row_groups(self):
        for _ in range(3):
            self.report()
        with mock.patch.object(opendata, "ROW_GROUP", 2):
            body = self.download("parquet")
        parquet = pq.ParquetFile(pa.BufferReader(body))
        self.assertEqual(parquet.metadata.num_rows, 5)
        self.assertEqual(parquet.metadata.num_row_groups, 3)
        schema = parquet.schema_arrow
        self.assertEqual(schema.field("requested_at").type, pa.timestamp("us", tz="UTC"))
        self.assertEqual(schema.field("lat").type, pa.float64())

    def test_exports_are_read_a_chunk_at_a_time(self):
        for _ in range(4):
            self.report()
        with mock.patch.object(opendata, "READ_CHUNK", 2):
            rows = csv_rows(self.download("georeport"))
        self.assertEqual(len(rows), 6)

    def test_geojson_is_a_feature_collection_of_points(self):
        data = json.loads(self.download("geojson"))
        self.assertEqual(data["type"], "FeatureCollection")
        self.assertEqual(len(data["features"]), 2)
        self.assertEqual(data["features"][0]["geometry"]["type"], "Point")


class ExportCommandTests(OpenDataTestCase):
    def test_the_command_writes_the_same_file_as_the_page(self):
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "requests.csv"
            call_command(
                "export_open_data", "--format", "nyc", "--out", str(out), stderr=io.StringIO()
            )
            self.assertEqual(out.read_bytes(), self.download("nyc"))

    def test_a_bad_date_is_a_clear_error(self):
        with self.assertRaisesMessage(CommandError, "is not a date"):
            call_command("export_open_data", "--format", "nyc", "--out", "-", "--since", "May")
        with self.assertRaisesMessage(CommandError, "swap them"):
            call_command(
                "export_open_data", "--format", "nyc", "--out", "-",
                "--since", "2026-02-01", "--until", "2026-01-01",
            )  # fmt: skip


class ImportTests(OpenDataTestCase):
    def write(self, folder: str, name: str, text: str) -> Path:
        path = Path(folder) / name
        path.write_text(text)
        return path

    def import_file(self, path: Path) -> tuple[str, str]:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("import_nyc", str(path), stdout=out, stderr=err)
        except CommandError as e:
            err.write(str(e))
        return out.getvalue(), err.getvalue()

    def test_every_layout_of_the_published_files_loads(self):
        loader.load_catalog()  # New York's types, which the pack's mapping names
        with tempfile.TemporaryDirectory() as folder:
            for source in sorted(PACK_HISTORY.glob("*.csv.gz")):
                with gzip.open(source, "rt", newline="") as f:
                    head = "".join(f.readline() for _ in range(40))
                path = self.write(folder, source.name.removesuffix(".gz"), head)
                out, err = self.import_file(path)
                self.assertRegex(out, r"imported [1-9]\d* requests", f"{source.name}: {err}")
                imported = ServiceRequest.objects.filter(application=f"import_nyc {path.name}")
                self.assertTrue(imported.filter(historical=True).exists(), source.name)
        # Through the pack's mapping, nearly every complaint type finds its own service type.
        imported = ServiceRequest.objects.filter(historical=True)
        default = nyc.Mapping(nycimport.DEFAULT_MAPPING).default
        specific = imported.exclude(service_type__service_code=default).count()
        self.assertGreater(specific / imported.count(), 0.9)

    def test_bad_lines_are_rejected_by_number_and_the_rest_loaded(self):
        lines = [
            ",".join(nyc.COLUMNS),
            _line("1001", "05/01/2022 12:00:03 AM", latitude="40.6782", longitude="-73.9442"),
            _line("1002", "13/45/2022 12:00:03 AM"),
            _line("1003", "05/01/2022 12:00:03 AM", latitude="north"),
            "1004,05/01/2022 12:00:03 AM,too,few",
            _line("1001", "05/02/2022 09:00:00 AM"),
            _line("1005", "06/31/2022 10:00:00 AM"),
            _line("1006", "05/03/2022 10:00:00 AM", closed="05/02/2022 10:00:00 AM"),
            _line("1007", "2022-05-04T10:00:00.000", status="In Progress"),
        ]
        with tempfile.TemporaryDirectory() as folder:
            path = self.write(folder, "bad.csv", "\n".join(lines) + "\n")
            out, err = self.import_file(path)
        self.assertIn("imported 2 requests, rejected 6 lines", out)
        self.assertIn("bad.csv, line 3: Created Date '13/45/2022 12:00:03 AM' is not a date", err)
        self.assertIn("bad.csv, line 4: Latitude 'north' is not a number", err)
        self.assertIn("bad.csv, line 5: 41 fields expected, 4 found", err)
        self.assertIn("bad.csv, line 6: Unique Key '1001' is also on an earlier line", err)
        self.assertIn("bad.csv, line 7: Created Date '06/31/2022 10:00:00 AM'", err)
        self.assertIn("bad.csv, line 8: Closed Date is before Created Date", err)
        self.assertIn("6 lines were rejected", err)
        first = ServiceRequest.objects.get(external_id="1001")
        self.assertEqual(first.service_type.service_code, "pothole")
        self.assertEqual(first.status, "open")
        self.assertTrue(first.historical)
        self.assertEqual(ServiceRequest.objects.get(external_id="1007").status, "in_progress")
        self.assertEqual(
            RequestEvent.objects.filter(request=first, kind="request.imported").count(), 1
        )

    def test_rejected_lines_are_also_written_to_a_rejects_file(self):
        lines = [
            ",".join(nyc.COLUMNS),
            _line("6001", "05/01/2022 12:00:03 AM"),
            _line("6002", "05/01/2022 12:00:03 XM"),
            "6003,too,few",
        ]
        with tempfile.TemporaryDirectory() as folder:
            path = self.write(folder, "some.csv", "\n".join(lines) + "\n")
            rejects = Path(folder) / "rejects.csv"
            with self.assertRaisesMessage(CommandError, "2 lines were rejected"):
                call_command(
                    "import_nyc", str(path), rejects=str(rejects), stdout=io.StringIO(),
                    stderr=io.StringIO(),
                )  # fmt: skip
            written = list(csv.reader(rejects.open(newline="")))
        self.assertEqual(
            written,
            [
                ["file", "line", "reason"],
                ["some.csv", "3", "Created Date '05/01/2022 12:00:03 XM' is not a date and "
                 "time such as 05/01/2022 12:00:03 AM"],
                ["some.csv", "4", "41 fields expected, 3 found"],
            ],
        )  # fmt: skip
        self.assertTrue(ServiceRequest.objects.filter(external_id="6001").exists())

    def test_a_tracking_number_drawn_twice_or_already_taken_is_drawn_again(self):
        taken = self.pothole_sr.tracking_number
        draws = iter([[taken, taken, taken]])
        real = nycimport.new_tracking_numbers

        def unlucky(count: int) -> list[str]:
            return next(draws, None) or real(count)

        lines = [",".join(nyc.COLUMNS)] + [
            _line(key, "05/01/2022 12:00:03 AM") for key in ("7001", "7002", "7003")
        ]
        with tempfile.TemporaryDirectory() as folder:
            path = self.write(folder, "draws.csv", "\n".join(lines) + "\n")
            with mock.patch.object(nycimport, "new_tracking_numbers", unlucky):
                out, err = self.import_file(path)
        self.assertIn("imported 3 requests, rejected 0 lines", out, err)
        numbers = set(
            ServiceRequest.objects.filter(historical=True).values_list("tracking_number", flat=True)
        )
        self.assertEqual(len(numbers), 3)
        self.assertNotIn(taken, numbers)

    def test_the_reports_count_the_imported_requests_at_once(self):
        lines = [
            ",".join(nyc.COLUMNS),
            _line("2001", "05/01/2022 12:00:03 AM", closed="05/02/2022 08:00:00 AM"),
        ]
        with tempfile.TemporaryDirectory() as folder:
            self.import_file(self.write(folder, "one.csv", "\n".join(lines) + "\n"))
        sr = ServiceRequest.objects.get(external_id="2001")
        fact = RequestFact.objects.get(request=sr)
        self.assertIsNotNone(fact.closed_day)

    def test_the_reports_consumer_does_not_count_the_imported_requests_again(self):
        stream.dispatch()  # the reports are up to date with the city
        # Dana starts work on the encampment; the stream has not read it when the import runs.
        actions.start_request(self.camp_sr, by=self.dana)
        lines = [
            ",".join(nyc.COLUMNS),
            _line("2101", "05/01/2022 09:00:00 AM", closed="05/02/2022 08:00:00 AM",
                  status="Closed", latitude="40.6782"),
            _line("2102", "05/03/2022 10:00:00 AM"),
            _line("2103", "06/03/2022 11:00:00 AM", closed="06/03/2022 01:00:00 PM",
                  status="Closed"),
        ]  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            out, err = self.import_file(self.write(folder, "three.csv", "\n".join(lines) + "\n"))
        self.assertIn("imported 3 requests", out, err)
        # The import counted them (and Dana's start, still waiting): the consumer's next pass
        # has nothing left to count.
        self.assertEqual(stream.dispatch().get("reports", 0), 0)
        imported = ServiceRequest.objects.filter(historical=True)
        self.assertEqual(RequestFact.objects.filter(request__in=imported).count(), 3)
        spring = "since=2022-05-01&until=2022-06-30"
        streamed, tiles = rollup_rows(), (self.tiles(spring), self.tiles())
        self.assertEqual(tiles[0]["received"].number, 3)
        self.assertEqual(tiles[0]["closed"].number, 2)
        # A rebuild from every request finds the same figures.
        call_command("rebuild_reports", stdout=io.StringIO())
        self.assertEqual(rollup_rows(), streamed)
        self.assertEqual((self.tiles(spring), self.tiles()), tiles)

    def tiles(self, query: str = "") -> dict[str, Any]:
        """The dashboard's figures, as a manager reads them."""
        self.sign_in(self.max)
        response = self.client.get(f"/reports/?{query}")
        self.assertEqual(response.status_code, 200)
        return {t.metric.key: t.value for t in response.context["tiles"]}

    def test_importing_the_same_file_twice_rejects_what_is_already_there(self):
        lines = [",".join(nyc.COLUMNS), _line("3001", "05/01/2022 12:00:03 AM")]
        with tempfile.TemporaryDirectory() as folder:
            path = self.write(folder, "again.csv", "\n".join(lines) + "\n")
            self.import_file(path)
            out, err = self.import_file(path)
        self.assertIn("imported 0 requests, rejected 1 lines", out)
        self.assertIn("line 2: Unique Key '3001' was imported already", err)

    def test_a_file_that_cannot_be_read_is_a_clear_error(self):
        with tempfile.TemporaryDirectory() as folder:
            path = self.write(folder, "odd.csv", "a,b,c\n1,2,3\n")
            with self.assertRaisesMessage(CommandError, "has no header and 3 columns"):
                call_command("import_nyc", str(path), stdout=io.StringIO(), stderr=io.StringIO())
        with self.assertRaisesMessage(CommandError, "Cannot read"):
            call_command(
                "import_nyc", "/no/such/file.csv", stdout=io.StringIO(), stderr=io.StringIO()
            )

    def test_a_date_is_read_only_when_it_exists_and_to_the_second(self):
        lines = [
            ",".join(nyc.COLUMNS),
            _line("4001", "02/29/2024 10:00:00 AM"),
            _line("4002", "02/29/2023 10:00:00 AM"),
            _line("4003", "2022-06-31T10:00:00.000"),
            _line("4004", "2024-02-29T23:59:59.250"),
            _line("4005", "05/01/2022 12:30:00 PM", closed="05/01/2022 12:30:00 AM"),
            _line("4006", "2100-02-29T10:00:00"),
            _line("4007", "2000-02-29T00:00:00"),
        ]
        with tempfile.TemporaryDirectory() as folder:
            out, err = self.import_file(self.write(folder, "dates.csv", "\n".join(lines) + "\n"))
        self.assertIn("imported 3 requests, rejected 4 lines", out)
        self.assertIn("line 3: Created Date '02/29/2023 10:00:00 AM' is not a date", err)
        self.assertIn("line 4: Created Date '2022-06-31T10:00:00.000' is not a date", err)
        self.assertIn("line 6: Closed Date is before Created Date", err)
        self.assertIn("line 7: Created Date '2100-02-29T10:00:00' is not a date", err)
        zone = profile.zone()
        at = {
            sr.external_id: sr.requested_at.astimezone(zone).isoformat()
            for sr in ServiceRequest.objects.filter(historical=True)
        }
        self.assertEqual(
            at,
            {
                "4001": "2024-02-29T10:00:00-05:00",
                "4004": "2024-02-29T23:59:59-05:00",
                "4007": "2000-02-29T00:00:00-05:00",
            },
        )

    def test_lines_take_their_points_areas_and_their_agencys_department(self):
        with tempfile.TemporaryDirectory() as folder:
            boroughs = small_city.write_geojson(
                Path(folder) / "boroughs.geojson",
                [small_city.feature("Brooklyn", small_city.square(-73.95, 40.67, -73.93, 40.69),
                                    code="3")],
            )  # fmt: skip
            call_command(
                "import_boundaries", str(boroughs), kind="borough", code_property="code",
                verbosity=0,
            )  # fmt: skip
        lines = [
            ",".join(nyc.COLUMNS),
            _line("5001", "05/01/2022 10:00:00 AM", latitude="40.6782"),
            _line("5002", "05/01/2022 11:00:00 AM", latitude="40.6782", agency="parks"),
            _line("5003", "05/01/2022 12:00:00 PM"),
        ]
        with tempfile.TemporaryDirectory() as folder:
            out, err = self.import_file(self.write(folder, "areas.csv", "\n".join(lines) + "\n"))
        self.assertIn("imported 3 requests, rejected 0 lines", out, err)
        found = {sr.external_id: sr for sr in ServiceRequest.objects.filter(historical=True)}
        brooklyn = {"borough": {"code": "3", "name": "Brooklyn"}}
        self.assertEqual(found["5001"].areas, brooklyn)
        self.assertEqual(found["5002"].areas, brooklyn)
        self.assertEqual(found["5003"].areas, {})
        # No agency: the type's department, by the city's routing; an agency the city has: it.
        self.assertEqual(found["5001"].department, self.streets)
        self.assertEqual(found["5002"].department, self.parks)
        self.assertEqual(len({sr.tracking_number for sr in found.values()}), 3)

    def test_export_then_import_then_export_gives_the_same_file(self):
        assert_round_trip(self)


def assert_round_trip(test: Any, *how: str) -> None:
    """Export, empty the city, import the file (`how`: the import's options), export: the same
    bytes."""
    started = test.report(channel="email", description="Another one")
    actions.start_request(started, by=test.dana)
    with tempfile.TemporaryDirectory() as folder:
        first = Path(folder) / "first.csv"
        first.write_bytes(test.download("nyc"))
        ServiceRequest.objects.all().delete()
        out, err = test.import_file(first, *how)
        test.assertIn("imported 3 requests, rejected 0 lines", out, err)
        test.assertEqual(test.download("nyc"), first.read_bytes())


class BulkImportTests(OpenDataTestCase):
    """`--indexes rebuild` (PostgreSQL): the requests' and events' secondary indexes and foreign
    keys set aside for the insert and built again, as a restore does. On SQLite the option
    changes nothing, and the same tests hold."""

    def import_file(self, path: Path, indexes: str) -> tuple[str, str]:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("import_nyc", str(path), indexes=indexes, stdout=out, stderr=err)
        except CommandError as e:
            err.write(str(e))
        return out.getvalue(), err.getvalue()

    def schema(self) -> dict[str, object]:
        """Every index and constraint of the requests and events, with its definition."""
        tables = [ServiceRequest._meta.db_table, RequestEvent._meta.db_table]
        with connection.cursor() as cursor:
            found: dict[str, object] = {
                table: connection.introspection.get_constraints(cursor, table) for table in tables
            }
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)",
                    [tables],
                )
                found["indexes"] = dict(cursor.fetchall())
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = ANY(%s::regclass[])",
                    [tables],
                )
                found["constraints"] = dict(cursor.fetchall())
        return found

    def loaded(self) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], bytes]:
        """The imported requests and their events (without ids or tracking numbers), and the
        open data's NYC file."""
        imported = ServiceRequest.objects.filter(historical=True).order_by("external_id")
        requests = list(
            imported.values_list(
                "external_id", "service_type_id", "department_id", "status", "resolution",
                "status_notes", "description", "lat", "long", "areas", "address_string",
                "zipcode", "channel", "requested_at", "updated_at", "closed_at", "due_at",
                "urgent", "application",
            )
        )  # fmt: skip
        events = list(
            RequestEvent.objects.filter(request__historical=True)
            .order_by("request__external_id", "kind")
            .values_list("request__external_id", "kind", "at", "actor_label", "note", "data")
        )
        return requests, events, self.download("nyc")

    def lines(self) -> str:
        rows = [
            ",".join(nyc.COLUMNS),
            _line("8001", "05/01/2022 10:00:00 AM", latitude="40.6782"),
            _line("8002", "05/01/2022 11:00:00 AM", closed="05/03/2022 09:15:00 AM",
                  status="Closed", agency="parks"),
            _line("8003", "13/45/2022 12:00:03 AM"),
            _line("8004", "06/02/2022 08:00:00 PM", status="In Progress"),
            _line("8001", "05/01/2022 10:00:00 AM"),
            "8005,too,few",
        ]  # fmt: skip
        return "\n".join(rows) + "\n"

    def test_the_bulk_load_gives_what_the_incremental_one_does(self):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "history.csv"
            path.write_text(self.lines())
            out, err = self.import_file(path, "keep")
            self.assertIn("imported 3 requests, rejected 3 lines", out, err)
            self.assertNotIn("indexes aside", err)
            incremental = self.loaded(), err
            ServiceRequest.objects.filter(historical=True).delete()
            out, err = self.import_file(path, "rebuild")
            self.assertIn("imported 3 requests, rejected 3 lines", out, err)
            if connection.vendor == "postgresql":
                self.assertIn("indexes and 8 foreign keys aside", err)
            # The same requests, events, rejected lines (by number) and export.
            self.assertEqual(
                (self.loaded(), _rejects(err)), (incremental[0], _rejects(incremental[1]))
            )
            self.assertIn("line 4: Created Date '13/45/2022 12:00:03 AM' is not a date", err)
            self.assertIn("line 6: Unique Key '8001' is also on an earlier line", err)
            self.assertIn("line 7: 41 fields expected, 3 found", err)
            # Again: every key is already there.
            out, err = self.import_file(path, "rebuild")
            self.assertIn("imported 0 requests, rejected 6 lines", out, err)

    def test_auto_rebuilds_only_for_a_load_as_large_as_the_table(self):
        postgres = connection.vendor == "postgresql"
        with tempfile.TemporaryDirectory() as folder, mock.patch.object(bulk, "BULK_FROM", 3):
            first = Path(folder) / "first.csv"
            keys = ("9001", "9002", "9003")
            first.write_text(_lines(keys))
            # 3 lines into a table of 2 requests: the bulk path (on PostgreSQL).
            out, err = self.import_file(first, "auto")
            self.assertIn("imported 3 requests", out, err)
            self.assertEqual("indexes and 8 foreign keys aside" in err, postgres, err)
            # 3 more into a table of 5: inserted into the indexes as they are.
            second = Path(folder) / "second.csv"
            second.write_text(_lines(("9004", "9005", "9006")))
            out, err = self.import_file(second, "auto")
            self.assertIn("imported 3 requests", out, err)
            self.assertNotIn("aside", err)
            # Below BULK_FROM, never.
            third = Path(folder) / "third.csv"
            third.write_text(_lines(("9007", "9008")))
            ServiceRequest.objects.all().delete()
            out, err = self.import_file(third, "auto")
            self.assertIn("imported 2 requests", out, err)
            self.assertNotIn("aside", err)

    def test_export_then_bulk_import_then_export_gives_the_same_file(self):
        assert_round_trip(self, "rebuild")

    def test_after_a_bulk_load_every_index_and_foreign_key_is_there(self):
        before = self.schema()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "history.csv"
            path.write_text(self.lines())
            out, err = self.import_file(path, "rebuild")
        self.assertIn("imported 3 requests", out, err)
        self.assertEqual(self.schema(), before)
        if connection.vendor == "postgresql":
            # Each index built again is valid and in use, and each foreign key checks again.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass "
                    "AND NOT (indisvalid AND indisready)",
                    [ServiceRequest._meta.db_table],
                )
                self.assertEqual(cursor.fetchone()[0], 0)
            sr = ServiceRequest.objects.filter(historical=True).first()
            assert sr is not None
            with self.assertRaises(IntegrityError), transaction.atomic():
                ServiceRequest.objects.filter(pk=sr.pk).update(service_type_id=999_999)
                connection.check_constraints()

    def test_demo_history_takes_the_same_bulk_path(self):
        loader.load_catalog()  # New York's types, which the generated history files under
        before, count = self.schema(), ServiceRequest.objects.count()
        postgres = connection.vendor == "postgresql"
        with (
            mock.patch.object(bulk, "BULK_FROM", 20),
            mock.patch.object(bulk, "put_indexes_back", wraps=bulk.put_indexes_back) as built,
        ):
            loader.load_generated_history(30)
            self.assertEqual(built.called, postgres)
            # A load smaller than the table goes into the indexes as they are.
            built.reset_mock()
            loader.load_generated_history(20)
            self.assertFalse(built.called)
        self.assertEqual(self.schema(), before)
        self.assertEqual(ServiceRequest.objects.count(), count + 50)
        generated = ServiceRequest.objects.filter(application="generated")
        imported = RequestEvent.objects.filter(request__in=generated, kind="request.imported")
        self.assertEqual(imported.count(), 50)

    def test_a_failure_during_a_bulk_load_leaves_every_index_and_no_request(self):
        before = self.schema()
        count = ServiceRequest.objects.count()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "history.csv"
            path.write_text(self.lines())
            # The requests are in, their history fails half way (a full disk, say).
            with (
                mock.patch.object(nycimport, "_insert_events", side_effect=OSError("disk full")),
                self.assertRaisesMessage(OSError, "disk full"),
            ):
                self.import_file(path, "rebuild")
        self.assertEqual(self.schema(), before)
        self.assertEqual(ServiceRequest.objects.count(), count)


def rollup_rows() -> dict[str, list[tuple[object, ...]]]:
    """Every row of the reports' facts, totals and heat cells, without ids."""
    rows = {}
    for model in (RequestFact, DayTotal, DaySummary, MonthTotal, MonthSummary, HeatCell):
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        rows[model.__name__] = sorted(
            tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in row)
            for row in model.objects.values_list(*fields)
        )
    return rows


def _lines(keys: tuple[str, ...]) -> str:
    rows = [",".join(nyc.COLUMNS), *(_line(key, "05/01/2022 10:00:00 AM") for key in keys)]
    return "\n".join(rows) + "\n"


def _rejects(err: str) -> list[str]:
    return [line for line in err.splitlines() if ", line " in line]


def _line(key: str, created: str, *, closed: str = "", latitude: str = "", longitude: str = "",
          status: str = "Open", agency: str = "") -> str:  # fmt: skip
    values = dict.fromkeys(nyc.COLUMNS, "")
    values.update({
        "Unique Key": key, "Created Date": created, "Closed Date": closed, "Agency": agency,
        "Complaint Type": "Pothole", "Status": status, "Latitude": latitude,
        "Longitude": longitude or ("-73.9442" if latitude else ""),
    })  # fmt: skip
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values.values())
    return out.getvalue()
