"""Rosa, on her phone, looks up her collection days, books a couch and a fridge for the first
bulky day offered, gets her booking reference and downloads the pickup to her calendar; books
again by keyboard alone; cancels from her confirmation; opens her reminder e-mail's link; and
subscribes her address to its pickup changes, confirming by the link of the first message."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from city311.geo.models import AddressPoint
from city311.notifications.tasks import send_due_deliveries
from city311.pickups import actions, routes, subscriptions
from city311.pickups.booking import offer
from city311.pickups.models import (
    Booking,
    BookingRule,
    BulkyItem,
    Collection,
    Route,
    RouteSchedule,
)
from city311.pickups.reminders import plan_reminders
from city311.servicerequests.models import ServiceRequest
from tests.test_pickup_bookings import at


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


def _first_day() -> date:
    point = AddressPoint.objects.get(source_id="dumont-1350")
    found = offer(
        lat=point.lat,
        long=point.long,
        address_pk=point.pk,
        now=timezone.now(),
        rule=BookingRule.current(),
    )
    return found.days[0].day


def _booked(day: date | None = None) -> Booking:
    return actions.book_pickup(
        AddressPoint.objects.get(source_id="dumont-1350"),
        day=day or _first_day(),
        items={"couch": 1},
        place="By the driveway",
        who=actions.Who("Rosa", "Diaz", "rosa@example.com"),
    )


def _link_path(text: str, path: str) -> str:
    """The path (and query) of the first link in a message that starts with `path`."""
    for url in re.findall(r"https?://[^\s\"<>]+", text):
        link = urlsplit(url)
        if link.path.startswith(path):
            return link.path + (f"?{link.query}" if link.query else "")
    raise AssertionError(f"no link to {path} in:\n{text}")


def test_rosa_books_by_keyboard_alone_in_four_screens(tab, pickups):
    page = tab.page
    page.set_default_navigation_timeout(30_000)
    screens = 1
    tab.open("/pickups/")
    tab.tab_to(page.get_by_label("Your address"))
    page.keyboard.type("1350 Dumont Avenue")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    screens += 1
    tab.step("her days, reached by keyboard")
    tab.tab_to(page.get_by_role("link", name="Book a bulky-item pickup"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    screens += 1
    first_day = page.locator("#id_day_0")
    tab.tab_to(first_day)
    page.keyboard.press("Space")
    assert first_day.is_checked()
    tab.tab_to(page.get_by_label("Couch"))
    page.keyboard.type("1")
    tab.tab_to(page.get_by_label("Where will the items be?"))
    page.keyboard.type("At the kerb")
    tab.tab_to(page.get_by_label("E-mail"))
    page.keyboard.type("rosa@example.com")
    tab.step("the form, filled by keyboard")
    tab.tab_to(page.get_by_role("button", name="Book the pickup"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    screens += 1
    assert page.get_by_role("heading", name="Your pickup is booked").is_visible()
    tab.step("booked by keyboard")
    assert screens <= 6
    reference = page.locator("[data-reference]").first.inner_text()
    booking = ServiceRequest.objects.get(tracking_number=reference).pickup_booking
    assert booking.items == {"couch": 1} and booking.place == "At the kerb"


def test_rosa_cancels_her_pickup_from_her_confirmation(tab, pickups):
    booking = _booked()
    page = tab.page
    page.set_default_navigation_timeout(30_000)
    tab.open(f"/pickups/booking/{booking.token}/")
    tab.step("her booking")
    page.get_by_role("button", name="Cancel the pickup").click()
    page.wait_for_url("**?cancelled=1")
    assert page.get_by_text("This booking is cancelled.").is_visible()
    assert not page.get_by_role("button", name="Cancel the pickup").is_visible()
    tab.step("cancelled")
    booking.refresh_from_db()
    assert booking.status == "cancelled"


def test_rosa_opens_her_booking_from_the_reminder_email(tab, pickups, settings, live_server):
    settings.CITY311_SITE_URL = live_server.url
    day = _first_day()
    booking = _booked(day)
    mail.outbox.clear()
    assert plan_reminders(at(day - timedelta(days=1), 9)) == 1
    send_due_deliveries()
    (reminder,) = [m for m in mail.outbox if "Bulky-item pickup tomorrow" in m.subject]
    page = tab.page
    page.set_default_navigation_timeout(30_000)
    tab.open(_link_path(reminder.body, f"/pickups/booking/{booking.token}/"))
    assert page.get_by_role("heading", name="Your pickup is booked").is_visible()
    assert page.locator("[data-day]").inner_text() == f"{day:%A}, {day.day} {day:%B %Y}"
    tab.step("her booking, from the reminder")


def test_rosa_subscribes_her_address_and_confirms_by_the_link(tab, pickups, settings, live_server):
    settings.CITY311_SITE_URL = live_server.url
    mail.outbox.clear()
    page = tab.page
    page.set_default_navigation_timeout(30_000)
    tab.open("/pickups/?address_id=dumont-1350")
    page.locator("#subscribe-email").fill("rosa@example.com")
    page.get_by_role("button", name="Tell me").click()
    page.wait_for_url("**/pickups/subscribe")
    assert "Almost done" in page.locator("[data-subscribed]").inner_text()
    tab.step("asked to confirm")
    subscriptions.send_notices()
    (asked,) = [m for m in mail.outbox if "rosa@example.com" in m.to]
    tab.open(_link_path(asked.body, "/pickups/subscription/confirm/"))
    assert page.locator("[data-confirmed]").is_visible()
    tab.step("confirmed")
    assert subscriptions.AddressSubscription.objects.get().confirmed_at is not None
