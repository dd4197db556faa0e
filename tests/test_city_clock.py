from datetime import UTC, datetime
from unittest import mock

from django.utils import timezone
from django.utils.formats import date_format

from city311.test import BaseTestCase

# 02:00 UTC on 6 December is still the evening of 5 December in New York (and Chicago).
SMALL_HOURS = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


class CityClockTests(BaseTestCase):
    """A test's own dates agree with the pages' at any hour (tests/conftest.py)."""

    def test_at_two_in_the_morning_utc_a_tests_today_is_the_day_the_page_shows(self):
        with mock.patch("django.utils.timezone.now", return_value=SMALL_HOURS):
            sr = self.report()
            page = self.client.get(f"/track/{sr.tracking_number}").content.decode()
            today = timezone.localdate()
        self.assertEqual(today.day, 5)
        self.assertIn(date_format(today, "DATE_FORMAT"), page)

    def test_the_zone_a_test_runs_in_is_its_citys(self):
        from city311.cities import profile

        self.assertEqual(timezone.get_current_timezone(), profile.zone())
        # Without it, a test read UTC's date: the next day.
        timezone.deactivate()
        with mock.patch("django.utils.timezone.now", return_value=SMALL_HOURS):
            self.assertEqual(timezone.localdate().day, 6)
