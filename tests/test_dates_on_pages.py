"""Dates on staff pages carry their year when it is not this year: a queue showing "May 2"
above "Dec 8" looked unsorted when May 2 was last year's."""

from datetime import datetime

from django.utils import timezone

from city311.cities import profile
from city311.servicerequests.models import ServiceRequest
from city311.test import BaseTestCase


def local(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, 30, tzinfo=profile.current().zone)


class DatesTests(BaseTestCase):
    def setUp(self):
        self.sign_in(self.dana)
        self.this_year = timezone.localdate().year

    def test_the_queue_shows_last_years_due_date_with_its_year(self):
        sr = self.report()
        ServiceRequest.objects.filter(pk=sr.pk).update(due_at=local(self.this_year - 1, 5, 2))
        page = self.client.get("/work/").content.decode()
        self.assertIn(f"May 2 {self.this_year - 1}, 10:30", page)

    def test_the_queue_shows_this_years_due_date_without_it(self):
        sr = self.report()
        ServiceRequest.objects.filter(pk=sr.pk).update(due_at=local(self.this_year, 5, 2))
        page = self.client.get("/work/").content.decode()
        self.assertIn("May 2, 10:30", page)
        self.assertNotIn(f"May 2 {self.this_year}", page)

    def test_a_request_page_shows_the_year_of_an_old_request(self):
        sr = self.report()
        ServiceRequest.objects.filter(pk=sr.pk).update(
            requested_at=local(2019, 12, 8), due_at=local(2020, 1, 3)
        )
        page = self.client.get(f"/work/requests/{sr.tracking_number}/").content.decode()
        self.assertIn("Dec 8 2019, 10:30", page)
        # The due date is the SLA's explanation, which always names the year.
        self.assertIn("3 Jan 2020, 10:30", page)
