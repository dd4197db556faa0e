"""Open data read from lines kept ready (reports.openlines), through the download pages.

Every export test of tests/test_open_data.py runs again with the lines written (as
`city311 rebuild_reports` writes them after a bulk load): on PostgreSQL the files then come
from the lines and must be the same bytes as formatting at the download and as the Python
writer. Then what keeps them current: a request's change, a new request, a type made
sensitive, a file asked for while the consumer is far behind.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from datetime import timedelta
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
from django.core.management import call_command
from django.db import connection

from city311.catalog.models import ServiceType
from city311.reports import opendata, openlines
from city311.reports.models import OpenDataGeoJson, OpenDataGeoReport, OpenDataNyc, OpenDataParquet
from city311.reports.tasks import refresh_open_data
from city311.servicerequests import actions
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.tasks import dispatch_events
from tests import test_open_data as base


class ReadyLinesExportTests(base.ExportTests):
    """The export tests, with the lines written before each one."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        call_command("rebuild_reports", stdout=io.StringIO())

    def download(self, code: str, **query: str) -> bytes:
        if connection.vendor == "postgresql":
            # The file comes from the lines (nothing waits for the city to change).
            self.assertTrue(openlines.ready())
        return super().download(code, **query)


def georeport(body: bytes) -> dict[str, dict[str, str]]:
    return {r["service_request_id"]: r for r in csv.DictReader(io.StringIO(body.decode()))}


def formatted(code: str) -> bytes:
    """The file as the database (or Python, on SQLite) formats it at the download."""
    return b"".join(opendata.export(code, ready=False))


class KeptCurrentTests(base.OpenDataTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        call_command("rebuild_reports", stdout=io.StringIO())

    def assert_as_formatted_now(self) -> None:
        for code in ("nyc", "georeport", "geojson"):
            self.assertEqual(self.download(code), formatted(code), code)

    def test_a_changed_request_is_changed_in_the_next_download(self):
        before = georeport(self.download("georeport"))[self.camp_sr.tracking_number]
        self.assertEqual(before["status_description"], "open")
        actions.close_request(
            self.camp_sr, resolution="completed", note="Cleared; ask 718-555-0123", by=self.dana
        )
        # Before the worker has read the event: the download renders it first.
        after = georeport(self.download("georeport"))[self.camp_sr.tracking_number]
        self.assertEqual(after["status_description"], "closed")
        self.assertEqual(after["status_notes"], "Cleared; ask [phone removed]")
        self.assert_as_formatted_now()
        # The worker's consumer then reads it, and the file stays the same.
        dispatch_events()
        self.assertEqual(georeport(self.download("georeport"))[self.camp_sr.tracking_number], after)
        self.assert_as_formatted_now()

    def test_a_request_filed_a_moment_ago_is_in_the_next_download(self):
        fresh = self.report(description="Just now, near 5th Ave")
        for code in base.FORMATS:
            self.assertIn(fresh.tracking_number, base.as_text(code, self.download(code)), code)

    def test_a_type_made_sensitive_reaches_every_line_of_it(self):
        pothole = self.pothole_sr.service_type
        for _ in range(3):
            self.report(description="Another hole by 12 Main St")
        pothole.publish_description = False
        pothole.save(update_fields=["publish_description"])
        # At once, whether or not the lines were written again yet:
        for when in ("before the lines are rebuilt", "after the schedule rebuilt them"):
            rows = georeport(self.download("georeport"))
            potholes = [r for r in rows.values() if r["service_name"] == "Pothole"]
            self.assertEqual(len(potholes), 4, when)
            for row in potholes:
                self.assertEqual((row["description"], row["address"]), ("", ""), when)
                self.assertEqual(len(row["lat"].split(".")[1]), 3, when)
            features = json.loads(self.download("geojson"))["features"]
            self.assertEqual(sum(f["properties"]["sensitive"] for f in features), 5, when)
            self.assert_as_formatted_now()
            refresh_open_data()
        if connection.vendor == "postgresql":
            self.assertTrue(openlines.ready())

    def test_a_download_while_the_consumer_is_far_behind_is_formatted_as_read(self):
        for _ in range(3):
            self.report(description="A backlog")
        with mock.patch.object(openlines, "CATCH_UP_LIMIT", 1):
            self.assertFalse(openlines.ready())
            self.assert_as_formatted_now()
            self.assertEqual(len(georeport(self.download("georeport"))), 5)
        dispatch_events()
        if connection.vendor == "postgresql":
            with mock.patch.object(openlines, "CATCH_UP_LIMIT", 0):
                self.assertTrue(openlines.ready())
        self.assert_as_formatted_now()

    def test_a_department_renamed_reaches_the_lines_of_its_requests(self):
        department = self.pothole_sr.department
        department.name = "Streets and Sidewalks"
        department.save(update_fields=["name"])
        for when in ("before the lines are written again", "after the schedule wrote them"):
            rows = csv.DictReader(io.StringIO(self.download("nyc").decode()))
            names = {r["Unique Key"]: r["Agency Name"] for r in rows}
            self.assertEqual(names[self.pothole_sr.tracking_number], department.name, when)
            self.assert_as_formatted_now()
            refresh_open_data()
        if connection.vendor == "postgresql":
            self.assertTrue(openlines.ready())

    def test_a_new_type_in_the_catalog_leaves_the_lines_served(self):
        ServiceType.objects.create(
            service_code="graffiti", service_name="Graffiti", department=self.streets
        )
        self.assertEqual(openlines.ready(), connection.vendor == "postgresql")
        self.assert_as_formatted_now()

    def test_lines_written_for_an_older_version_are_rebuilt_a_step_at_a_time(self):
        """An upgrade that changes a format's text: the worker's tasks are stopped at 120 s, so
        the rebuild goes a step at a time, each committed, the files correct meanwhile."""
        for _ in range(3):
            self.report(description="Filed before the upgrade")
        dispatch_events()
        with (
            mock.patch.object(openlines, "VERSION", openlines.VERSION + 1),
            mock.patch.object(openlines, "RENDER_BATCH", 2),
            mock.patch.object(openlines, "STEP_SECONDS", 0),
        ):
            self.assertFalse(openlines.ready())
            steps = []
            while not steps or steps[-1]:
                self.assert_as_formatted_now()
                if connection.vendor == "postgresql":
                    self.assertFalse(openlines.ready(), steps)
                steps.append(refresh_open_data())
                self.assertLess(len(steps), 10, "the rebuild never ends")
            if connection.vendor == "postgresql":
                self.assertEqual(steps, [2, 2, 1, 0])  # five requests, two a step, then done
                self.assertTrue(openlines.ready())
            self.assert_as_formatted_now()
            # A request filed afterwards is in the next file (the download renders it first).
            self.report(description="Filed while the lines were rebuilt")
            self.assertEqual(len(georeport(self.download("georeport"))), 6)
            self.assert_as_formatted_now()

    def test_a_file_read_a_few_lines_at_a_time_is_the_whole_file(self):
        """The database sends the lines in blocks, each the next ones after the last line sent
        (by time received, then request): requests received at the same moment straddle a
        block's end. A block holds at most `READ_BLOCK` lines and about `BLOCK_BYTES` (one
        line when a line is larger), and never crosses a row group's end: a row group is
        whole blocks."""
        for _ in range(5):
            self.report(description="Filed in the same second")
        ServiceRequest.objects.update(requested_at=self.camp_sr.requested_at)
        self.written_around_the_actions()
        # (lines, bytes, row group): blocks of two lines; of two then one (row groups of
        # three); of one line each (the bytes).
        for lines, size, group, groups in ((2, 1 << 20, 2, 4), (2, 1 << 20, 3, 3), (100, 1, 2, 4)):
            with (
                self.subTest(lines=lines, size=size, group=group),
                mock.patch.object(openlines, "READ_BLOCK", lines),
                mock.patch.object(openlines, "BLOCK_BYTES", size),
                mock.patch.object(opendata, "ROW_GROUP", group),
            ):
                self.assert_as_formatted_now()
                georeport_rows = georeport(self.download("georeport"))
                parquet = pq.ParquetFile(pa.BufferReader(self.download("parquet")))
                expected = pq.read_table(pa.BufferReader(formatted("parquet")))
                self.assertEqual(len(georeport_rows), 7)
                self.assertEqual(parquet.read().to_pylist(), expected.to_pylist())
                self.assertEqual(parquet.metadata.num_row_groups, groups)

    def test_a_download_stopped_half_way_leaves_the_connection_ready(self):
        """A visitor who leaves mid-file: the Parquet file's read-ahead of the next row group
        stops with it, and the next download reads the lines as before."""
        for _ in range(5):
            self.report(description="One of many")
        self.written_around_the_actions()
        # Row groups of 2, one block held ahead: the thread waits to hand over the third; of 4:
        # the end of the file.
        for size in (2, 4):
            with (
                self.subTest(size=size),
                mock.patch.object(opendata, "ROW_GROUP", size),
                mock.patch.object(openlines, "READ_AHEAD", 1),
            ):
                stream = opendata.export("parquet")
                self.assertTrue(next(stream))
                time.sleep(0.3)  # the thread has read ahead, and waits to hand it over
                stream.close()
                reading = [t for t in threading.enumerate() if t.name == "open-data-read-ahead"]
                self.assertEqual(reading, [])
                again = pq.read_table(pa.BufferReader(self.download("parquet")))
                expected = pq.read_table(pa.BufferReader(formatted("parquet")))
                self.assertEqual(again.to_pylist(), expected.to_pylist())
                self.assertEqual(again.num_rows, 7)

    def test_a_line_read_before_the_one_written_never_replaces_it(self):
        """The consumer and a download may render the same request at once: each format's
        line is written in one statement, and the later reading wins whichever commits last."""
        if connection.vendor != "postgresql":
            self.assertEqual(openlines.render([self.camp_sr.pk]), 0)  # Python's writers
            return
        tables = [OpenDataNyc, OpenDataGeoReport, OpenDataGeoJson, OpenDataParquet]
        written = [t.objects.get(request=self.camp_sr) for t in tables]
        pk, moment = self.camp_sr.pk, written[0].rendered_at
        openlines._write([pk], [["read earlier"]] * 4, moment - timedelta(seconds=1))
        self.assertEqual(
            [t.objects.get(request=self.camp_sr).line for t in tables], [w.line for w in written]
        )
        openlines._write([pk], [["read later"]] * 4, moment + timedelta(seconds=1))
        self.assertEqual(
            [t.objects.get(request=self.camp_sr).line for t in tables], ["read later"] * 4
        )

    def test_a_line_the_database_writes_whole_quotes_its_values_as_the_file_does(self):
        """A line no rule of Python's could change (no digit, no '@', nothing beyond ASCII) is
        written by the database alone, its values quoted as the download's CSV quotes them: a
        comma, a quote, a line end, an empty text (Parquet's), every format the same bytes."""
        sr = self.report(description="Plain words")
        ServiceRequest.objects.filter(pk=sr.pk).update(
            status_notes='Crew said "done", then left\nfor the day',
            address_string='Main St, corner "B"',
            zipcode="",
        )
        self.written_around_the_actions()
        self.assert_as_formatted_now()
        for code in ("nyc", "georeport", "geojson"):
            python = b"".join(opendata.FORMATS[code].write(opendata.records()))
            self.assertEqual(self.download(code), python, code)
        written = pq.read_table(pa.BufferReader(self.download("parquet")))
        expected = pq.read_table(pa.BufferReader(formatted("parquet")))
        self.assertEqual(written.to_pylist(), expected.to_pylist())
        if connection.vendor == "postgresql":
            line = OpenDataNyc.objects.get(request_id=sr.pk).line
            self.assertIn('"Crew said ""done"", then left\nfor the day"', line)
