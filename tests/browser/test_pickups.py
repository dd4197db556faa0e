"""Rosa, on her phone, looks up her collection days, books a couch and a fridge for the first
bulky day offered, gets her booking reference and downloads the pickup to her calendar."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from icalendar import Calendar

from city311.pickups import routes
from city311.pickups.models import (
    BookingRule,
    BulkyItem,
    Collection,
    Route,
    RouteSchedule,
)
from city311.servicerequests.models import ServiceRequest


@pytest.fixture
def pickups(city):
    # The demo catalog's bulky type asks which items: the booking answers it from the items.
    BookingRule.objects.create(service_code="bulky_item_pickup", items_attribute="items")
    BulkyItem.objects.create(code="couch", name="Couch", answer="furniture")
    BulkyItem.objects.create(
        code="fridge", name="Fridge", max_per_booking=1, answer="refrigerant_appliance", order=1
    )
    north = Route.objects.create(
        code="north", name="North", area_kind="service_zone", area_code="N"
    )
    for code, name, rule in (
        ("trash", "Trash", "FREQ=WEEKLY;BYDAY=MO,TH"),
        ("bulky", "Bulky items", "FREQ=WEEKLY;BYDAY=WE"),
    ):
        RouteSchedule.objects.create(
            route=north,
            collection=Collection.objects.create(code=code, name=name),
            rule=rule,
            starts=date(2026, 1, 5),
        )
    routes.remap()


def test_rosa_books_a_bulky_pickup_and_downloads_it_to_her_calendar(tab, pickups):
    page = tab.page
    # The first page of a live server loads the city, the catalog and the holidays.
    page.set_default_navigation_timeout(30_000)
    tab.open("/pickups/")
    page.get_by_label("Your address").fill("1350 Dumont Avenue")
    page.get_by_role("button", name="Find my days").click()
    page.wait_for_url("**/pickups/?address=*")
    assert page.get_by_role("heading", name="Bulky items").is_visible()
    tab.step("her collection days")

    with page.expect_download() as got:
        page.locator("[data-calendar-download]").click()
    feed = Calendar.from_ical(Path(got.value.path()).read_bytes())
    assert {str(e["SUMMARY"]) for e in feed.walk("VEVENT")} == {"Trash", "Bulky items"}

    page.get_by_role("link", name="Book a bulky-item pickup").click()
    page.wait_for_url("**/pickups/book/*")
    tab.step("the booking form")
    page.locator("label[for=id_day_0]").click()  # the first day offered
    page.get_by_label("Couch").fill("1")
    page.get_by_label("Fridge").fill("1")
    page.get_by_label("Where will the items be?").fill("By the driveway")
    page.get_by_label("E-mail").fill("rosa@example.com")
    page.get_by_role("button", name="Book the pickup").click()
    page.wait_for_url("**/pickups/booking/*/")
    reference = page.locator("[data-reference]").first.inner_text()
    assert page.get_by_role("heading", name="Your pickup is booked").is_visible()
    tab.step("the confirmation")
    sr = ServiceRequest.objects.get(tracking_number=reference)
    assert sr.service_type.service_code == "bulky_item_pickup"
    assert sorted(sr.answers["items"]) == ["furniture", "refrigerant_appliance"]

    with page.expect_download() as got:
        page.get_by_role("link", name="Add to my calendar").click()
    (event,) = Calendar.from_ical(Path(got.value.path()).read_bytes()).walk("VEVENT")
    assert reference in str(event["SUMMARY"])
    assert event.decoded("DTSTART").strftime("%A") == "Wednesday"
