"""The back-test of the expected date (bench/expected.py's library, servicerequests/backtest.py),
on small hand-built exports where the right answer is known."""

import gzip
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from city311.servicerequests import backtest
from city311.test import BaseTestCase

MONTHS = [f"2024-{m:02}" for m in range(1, 13)]


def export(rows: list[tuple[str, str, str, str]], header: bool = True) -> Path:
    """An export file of (requested, closed, type, borough) rows."""
    path = Path(tempfile.mkdtemp()) / "export.csv.gz"
    lines = ["unique_key,created_date,closed_date,complaint_type,borough"] if header else []
    lines += [",".join((str(i), *row)) for i, row in enumerate(rows)]
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
    return path


def month_of_requests(month: str, hours_to_close, kind="Pothole") -> list:
    start = datetime.fromisoformat(f"{month}-01T00:00:00")
    rows = []
    for i, hours in enumerate(hours_to_close):
        at = start + timedelta(hours=6 * i)
        rows.append(
            (
                f"{at:%Y-%m-%d %H:%M:%S}",
                f"{at + timedelta(hours=hours):%Y-%m-%d %H:%M:%S}",
                kind,
                "BRONX",
            )
        )
    return rows


class BacktestTests(BaseTestCase):
    def test_the_stated_time_covers_80_percent_of_the_next_months_of_a_steady_history(self):
        # Every month the same spread: 100 requests closing after 1, 2, ... 100 hours (shuffled).
        # The 80% time is 80 hours; calibrated for a next request, it covers 80-81 of 100.
        steady = [(i * 37) % 100 + 1 for i in range(100)]
        path = export([row for m in MONTHS for row in month_of_requests(m, steady)])
        result = backtest.backtest(backtest.cases_from_files([path]).cases)
        covered, judged = result.coverage(MONTHS[3:])
        self.assertEqual(judged, 900)
        self.assertGreaterEqual(covered, 0.78)
        self.assertLessEqual(covered, 0.82)

    def test_the_point_follows_a_change_the_per_type_median_lags_behind(self):
        # Potholes took 100 hours for half a year, then 10. In December the per-type median of
        # the past (six months at 100 h, five at 10 h) still says 100 h; the point, weighing the
        # recent months most, says 10 h: its error is nothing where the median's is 90 h.
        path = export(
            [
                row
                for i, m in enumerate(MONTHS)
                for row in month_of_requests(m, [100 if i < 6 else 10] * 60)
            ]
        )
        # Another point to judge beside it, fitted on the past: "as long as the first month".
        result = backtest.backtest(
            backtest.cases_from_files([path]).cases,
            candidates={"first month": lambda past, cutoff: lambda case: 100.0},
        )
        self.assertEqual(result.error("first month", ["2024-12"]), (90.0, 60))
        self.assertEqual(result.error("baseline", ["2024-12"]), (90.0, 60))
        self.assertEqual(result.error("point", ["2024-12"]), (0.0, 60))
        self.assertEqual(result.lower("point", ["2024-12"]), 1.0)

    def test_an_export_is_read_with_its_open_records_open_until_its_latest_time(self):
        # NYC's five-column file has no header; a record closed before it was filed is skipped.
        path = export(
            [
                ("01/02/2020 10:00:00 AM", "", "Noise", "QUEENS"),
                ("01/02/2020 11:00:00 AM", "01/03/2020 01:00:00 PM", "Noise", "QUEENS"),
                ("01/04/2020 11:00:00 AM", "01/03/2020 01:00:00 PM", "Heat", "BRONX"),
            ],
            header=False,
        )
        history = backtest.cases_from_files([path])
        self.assertEqual(
            (len(history.cases), history.skipped, list(history.types)), (2, 1, ["Noise"])
        )
        still_open = next(c for c in history.cases if c.closed_at is None)
        self.assertEqual(still_open.open_until, history.cases[1].closed_at)
        self.assertEqual(still_open.district, "QUEENS")
