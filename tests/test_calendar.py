from datetime import date, datetime

from city311.catalog.calendar import due_at
from city311.catalog.models import Holiday, SlaUnit
from city311.cities import profile
from city311.test import BaseTestCase, any_city


def at(*args):
    """A moment on the city's clock, whichever city the test runs in."""
    return datetime(*args, tzinfo=profile.zone())


@any_city
class BusinessHoursTests(BaseTestCase):
    """The test city works Monday to Friday, 9:00 to 17:00, with its region's public holidays
    (Thanksgiving in both test cities)."""

    def due(self, start, hours):
        return due_at(start, hours, SlaUnit.BUSINESS_HOURS).astimezone(profile.zone())

    def test_hours_within_one_working_day(self):
        self.assertEqual(self.due(at(2026, 11, 17, 10, 0), 4), at(2026, 11, 17, 14, 0))

    def test_hours_carry_over_to_the_next_working_day(self):
        self.assertEqual(self.due(at(2026, 11, 17, 15, 0), 4), at(2026, 11, 18, 11, 0))

    def test_a_request_made_at_night_starts_counting_next_morning(self):
        self.assertEqual(self.due(at(2026, 11, 17, 22, 0), 2), at(2026, 11, 18, 11, 0))

    def test_the_weekend_is_skipped(self):
        # Friday 16:00 + 3 hours: one hour on Friday, two on Monday.
        self.assertEqual(self.due(at(2026, 11, 20, 16, 0), 3), at(2026, 11, 23, 11, 0))

    def test_a_public_holiday_is_skipped(self):
        # Wednesday before Thanksgiving (Thursday 26 November 2026) + 8 hours -> Friday.
        self.assertEqual(self.due(at(2026, 11, 25, 17, 0), 8), at(2026, 11, 27, 17, 0))

    def test_a_city_holiday_is_skipped(self):
        Holiday.objects.create(date=date(2026, 11, 18), name="City staff day")
        self.assertEqual(self.due(at(2026, 11, 17, 17, 0), 1), at(2026, 11, 19, 10, 0))

    def test_the_city_can_work_on_a_public_holiday(self):
        Holiday.objects.create(date=date(2026, 11, 26), name="Open on Thanksgiving", closed=False)
        self.assertEqual(self.due(at(2026, 11, 25, 17, 0), 8), at(2026, 11, 26, 17, 0))

    def test_a_long_sla_spans_a_holiday_weekend(self):
        # 24 working hours from Wednesday 25 November 9:00: Wed, (Thu holiday), Fri, Mon.
        self.assertEqual(self.due(at(2026, 11, 25, 9, 0), 24), at(2026, 11, 30, 17, 0))


@any_city
class CalendarDayTests(BaseTestCase):
    def test_calendar_days_count_weekends(self):
        due = due_at(at(2026, 11, 20, 10, 0), 2, SlaUnit.CALENDAR_DAYS)
        self.assertEqual(due.astimezone(profile.zone()), at(2026, 11, 22, 10, 0))

    def test_calendar_days_keep_the_wall_clock_time_across_a_dst_change(self):
        due = due_at(at(2026, 10, 31, 10, 0), 2, SlaUnit.CALENDAR_DAYS)
        self.assertEqual(due.astimezone(profile.zone()).hour, 10)

    def test_no_target_means_no_due_date(self):
        self.assertIsNone(due_at(at(2026, 11, 20, 10, 0), None, SlaUnit.CALENDAR_DAYS))

    def test_an_urgent_request_due_date_counts_business_hours(self):
        sr = self.report(service_code="fallen_tree", answers={}, requested_at=at(2026, 11, 20, 16))
        self.assertEqual(sr.due_at.astimezone(profile.zone()), at(2026, 11, 23, 16, 0))
