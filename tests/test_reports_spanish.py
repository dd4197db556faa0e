"""The reports speak Spanish to a manager who reads Spanish: the dashboard (filters, tiles,
metric names and their formulas, charts, map, tables), actions taken, the monthly report, the
heat map and a filter's error.

Each page is read twice, in English and in Spanish; a word of the English page that is still
on the Spanish page is English left untranslated, unless it is the city's own data (a type's
or a district's name) or a word both languages write alike.
"""

from __future__ import annotations

import csv
import re
import tempfile
from datetime import timedelta
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from city311.reports import nyc
from tests.test_reports import HandBuiltCity

# Names from the city's data (types, departments, districts, people, the test city "NYC
# demo"), proper names (Open311, New York) and words Spanish writes as English does (portal,
# web, chat, the month "nov", "a", the units "m" and "MM").
DATA = {
    "pothole", "fallen", "tree", "building", "permit", "question", "streets", "parks", "district",
    "max", "tester", "nyc", "demo", "csv", "pdf", "n", "h", "no", "city311", "open", "york",
    "portal", "web", "chat", "nov", "a", "de", "mm", "m",
}  # fmt: skip
# The closing notes Dana wrote (tests.test_reports), shown as written.
NOTES = "Filled the hole with cold patch. Patched. Filled again. Not ours. Done by utility."


def words(html: str) -> set[str]:
    """The words a person reads on the page: its text and its labels for screen readers."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    said = " ".join(re.findall(r'(?:aria-label|alt|title|placeholder)="([^"]*)"', html))
    text = re.sub(r"<[^>]+>", " ", html) + " " + said
    return {w.lower() for w in re.findall(r"[^\W\d_]+", text)}


@override_settings(CITY311_REPORTS_MIN_N=3)
class SpanishReportsTests(HandBuiltCity):
    def read(self, url: str, status: int = 200) -> tuple[set[str], set[str]]:
        self.sign_in(self.max)
        english = self.client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        spanish = self.client.get(url, HTTP_ACCEPT_LANGUAGE="es")
        self.assertEqual(english.status_code, status, url)
        self.assertEqual(spanish.status_code, status, url)
        return words(english.content.decode()), words(spanish.content.decode())

    def assert_no_english_left(self, url: str, status: int = 200, data: str = "") -> set[str]:
        english, spanish = self.read(url, status)
        left = (english & spanish) - DATA - words(data)
        self.assertEqual(left, set(), url)
        return spanish

    def test_the_dashboard_has_no_english_left(self):
        spanish = self.assert_no_english_left("/reports/?by=week")
        for word in ("informes", "recibidas", "cerradas", "semana", "canal"):
            self.assertIn(word, spanish)

    def test_the_dashboard_of_one_district_and_a_long_period_has_no_english_left(self):
        self.assert_no_english_left("/reports/?area=council_district:1&period=this_year")

    def test_the_metric_names_and_formulas_are_spanish(self):
        spanish = self.assert_no_english_left("/reports/#definitions")
        self.assertTrue({"mediana", "percentil", "vencidas", "satisfacción"} <= spanish)

    def test_actions_taken_has_no_english_left(self):
        self.assert_no_english_left("/reports/actions/", data=NOTES)

    def test_the_monthly_report_has_no_english_left(self):
        self.assert_no_english_left("/reports/monthly/")

    def test_the_heat_map_has_no_english_left(self):
        self.assert_no_english_left("/reports/heat/")
        self.assert_no_english_left("/reports/heat/?type=pothole")

    def test_a_bad_filter_is_told_in_spanish(self):
        self.assert_no_english_left("/reports/?since=2026-05-02&until=2026-05-01", status=400)
        self.assert_no_english_left("/reports/monthly/?month=May", status=400)

    def test_the_monthly_csv_stays_english_data(self):
        self.sign_in(self.max)
        csv = self.client.get("/reports/monthly.csv", HTTP_ACCEPT_LANGUAGE="es")
        self.assertTrue(csv.content.decode().startswith("Area kind,Area,Type,Department"))


# A number grouped in thousands, standing alone (not part of a longer figure).
GROUPED = r"(?<![\d.,\xa0])\d{1,3}(?:%s\d{3})+(?![\d.,\xa0])"


def text(html: str) -> str:
    """What a person reads: the page's text and its labels for screen readers."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    said = " ".join(re.findall(r'(?:aria-label|alt|title)="([^"]*)"', html))
    return re.sub(r"<[^>]+>", " ", html) + " " + said


@override_settings(CITY311_REPORTS_MIN_N=3)
class SpanishNumbersTests(HandBuiltCity):
    """Max reads counts in the thousands: English groups them 1,234, Spanish 1 234 (a
    no-break space, as Spanish writes them), never the English way."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        filed = timezone.localtime() - timedelta(days=3)
        shape = "%m/%d/%Y %I:%M:%S %p"
        cls.month = f"{filed:%Y-%m}"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "potholes.csv"
            with path.open("w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(nyc.COLUMNS)
                for n in range(1234):
                    row = dict.fromkeys(nyc.COLUMNS, "")
                    row.update({
                        "Unique Key": str(500_000 + n), "Complaint Type": "Pothole",
                        "Created Date": filed.strftime(shape),
                        "Closed Date": (filed + timedelta(hours=5)).strftime(shape),
                        "Status": "Closed", "Resolution Description": "Filled the hole.",
                        "Latitude": "40.62", "Longitude": "-73.98",
                    })  # fmt: skip
                    writer.writerow(row.values())
            call_command("import_nyc", str(path), stdout=StringIO(), stderr=StringIO())

    def assert_grouped_in_spanish(self, url: str) -> None:
        self.sign_in(self.max)
        english = text(self.client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode())
        spanish = text(self.client.get(url, HTTP_ACCEPT_LANGUAGE="es").content.decode())
        found = set(re.findall(GROUPED % ",", english))
        self.assertTrue(found, f"{url}: no count in the thousands on the English page")
        for number in found:
            self.assertIn(number.replace(",", "\xa0"), spanish, url)
            self.assertNotRegex(spanish, rf"(?<![\d.,\xa0]){re.escape(number)}(?![\d.,\xa0])", url)

    def test_the_dashboard_groups_thousands_the_spanish_way(self):
        self.assert_grouped_in_spanish("/reports/?by=week")

    def test_the_heat_map_groups_thousands_the_spanish_way(self):
        self.assert_grouped_in_spanish("/reports/heat/?type=pothole")

    def test_actions_taken_groups_thousands_the_spanish_way(self):
        self.assert_grouped_in_spanish("/reports/actions/")

    def test_the_monthly_report_groups_thousands_the_spanish_way(self):
        self.assert_grouped_in_spanish(f"/reports/monthly/?month={self.month}")
