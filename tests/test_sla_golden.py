"""Due dates against the golden table (tests/data/sla_golden.csv): 520 requests filed, paused,
resumed, closed and reopened through the request actions at the table's moments, each due
exactly when the independent minute-stepping reference (tests/sla_reference.py) says."""

from __future__ import annotations

from datetime import date
from unittest import mock

from city311.catalog.models import Holiday, ServiceType, SlaUnit
from city311.servicerequests import actions
from city311.servicerequests.models import Resolution
from city311.test import BaseTestCase
from tests import sla_reference as ref


def at(moment):
    """The clock of everything city311 does inside the block reads `moment`."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


class GoldenTableTests(BaseTestCase):
    # The table is New York's: its holidays and clock, whichever city the suite runs in.
    test_city = "nyc"

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        for day, name in ref.CITY_CLOSED.items():
            Holiday.objects.create(date=day, name=name, closed=True)
        for day, name in ref.CITY_WORKS.items():
            Holiday.objects.create(date=day, name=name, closed=False)
        cls.rows = ref.load()

    def service_type(self, unit: str, amount: int) -> ServiceType:
        found, _ = ServiceType.objects.get_or_create(
            service_code=f"sla_{unit}_{amount}",
            defaults={
                "service_name": f"SLA {amount} {unit}",
                "department": self.streets,
                "location_required": False,
                "sla_amount": amount,
                "sla_unit": SlaUnit(unit),
            },
        )
        return found

    def run_row(self, row: dict[str, str]):
        kind = self.service_type(row["unit"], int(row["amount"]))
        with at(ref.read(row["start"])):
            sr = self.report(
                service_code=kind.service_code, lat=None, long=None, address_string="", answers={}
            )
        if row["close"]:
            with at(ref.read(row["close"])):
                sr = actions.close_request(
                    sr, resolution=Resolution.COMPLETED, note="Filled.", by=self.dana
                )
            with at(ref.read(row["reopen"])):
                sr = actions.reopen_request(sr, reason="Still there.", by=self.dana)
        for begin, end in ref.pauses_of(row):
            with at(begin):
                sr = actions.pause_request(sr, reason="resident", by=self.dana)
            with at(end):
                sr = actions.resume_request(sr, by=self.dana)
        sr.refresh_from_db()
        return sr.due_at

    def test_the_table_is_big_and_covers_every_case(self):
        rows = self.rows
        self.assertGreaterEqual(len(rows), 500)
        self.assertGreater(sum(1 for r in rows if r["unit"] == "business_hours"), 300)
        self.assertGreater(sum(1 for r in rows if r["unit"] == "calendar_days"), 150)
        self.assertGreater(sum(1 for r in rows if r["pauses"]), 200)
        self.assertGreater(sum(1 for r in rows if r["reopen"]), 200)
        closed = {date(2026, 11, 26), date(2026, 11, 27), date(2026, 5, 25)}
        spanning = [
            r
            for r in rows
            if any(ref.read(r["start"]).date() <= d <= ref.read(r["due"]).date() for d in closed)
        ]
        self.assertGreater(len(spanning), 10)

    def test_every_due_date_matches_the_golden_table(self):
        wrong = []
        for row in self.rows:
            due = self.run_row(row)
            if due != ref.read(row["due"]):
                wrong.append(f"case {row['case']}: {ref.written(due)} != {row['due']}")
        self.assertEqual(wrong, [], f"{len(wrong)} of {len(self.rows)} rows differ")

    def test_the_table_agrees_with_the_reference(self):
        # Every fifth row stepped through again: the file was not edited by hand.
        for row in self.rows[::5]:
            clock = ref.read(row["reopen"] or row["start"])
            due = ref.reference_due(row["unit"], int(row["amount"]), clock, ref.pauses_of(row))
            self.assertEqual(ref.written(due), row["due"], f"case {row['case']}")
