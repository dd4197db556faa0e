"""Bulky-item bookings: Rosa books a couch and a fridge, changes and cancels by her link; days
past the cut-off, on holidays or full are not offered; 16 processes race for the last slots;
reminders three days and one day before, once; the address's and the booking's calendars;
the crews' day list, capacities and a late route."""

from __future__ import annotations

import io
import multiprocessing
import os
import threading
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import yaml
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from city311.catalog.models import Holiday
from city311.cities import profile
from city311.geo.models import AddressPoint
from city311.notifications.models import Delivery
from city311.notifications.tasks import send_due_deliveries
from city311.pickups import actions
from city311.pickups.booking import cutoff, offer
from city311.pickups.models import (
    Booking,
    BookingRule,
    BookingStatus,
    BulkyItem,
    HolidayRule,
    Route,
    RouteDay,
    Slide,
)
from city311.pickups.reminders import plan_reminders
from city311.pickups.schedule import Schedules
from city311.servicerequests.models import Contact, ServiceRequest, Status
from city311.test import city_today
from tests import small_city


@pytest.fixture(autouse=True)
def _room_for_many_bookings(settings):
    # Rosa books again and again here, and the race books from one address: the per-hour limits
    # have their own test below. Forked children inherit these settings.
    settings.CITY311_PICKUP_BOOKINGS_PER_IP = 100_000
    settings.CITY311_PICKUP_BOOKINGS_PER_CONTACT = 100_000


PICKUPS = """\
collections:
  - {code: trash, name: {en: Trash, es: Basura}}
  - {code: bulky, name: {en: Bulky items, es: Artículos voluminosos}}
holiday_rule:
  slide: rest_of_week
  holidays: [Memorial Day, Small City Day]
routes:
  - code: north
    name: North
    area: service_zone/N
    depot: [40.67, -73.95]
    schedules:
      trash: FREQ=WEEKLY;BYDAY=MO,TH
      bulky: FREQ=WEEKLY;BYDAY=WE
  - code: south
    name: South
    area: service_zone/S
    schedules:
      trash: FREQ=WEEKLY;BYDAY=TU
bookings:
  service_type: bulky
  daily_capacity: 3
  items_per_booking: 4
  items:
    - {code: couch, name: {en: Couch, es: Sofá}, max: 2}
    - {code: fridge, name: {en: Fridge, es: Refrigerador}, max: 1}
    - code: tyres
      name: Tyres
      refused: Take them to the tyre drop-off at 100 Depot Road.
"""
BULKY_TYPE = """\
  - service_code: bulky
    service_name: Bulky Item Pickup
    group: Sanitation
    department: streets
    translations: {es: {service_name: Recogida de artículos voluminosos}}
"""
ROSA = {
    "first_name": "Rosa",
    "last_name": "Diaz",
    "email": "rosa@example.com",
    "phone": "",
    "place": "By the driveway",
}


def load_city(tmp_path: Path) -> None:
    pack = small_city.write_pack(tmp_path / "small")
    (pack / "pickups.yaml").write_text(PICKUPS)
    (pack / "catalog.yaml").write_text(small_city.CATALOG + BULKY_TYPE)
    call_command("import_city", str(pack), stdout=io.StringIO(), stderr=io.StringIO())


@pytest.fixture
def city(db, tmp_path):
    load_city(tmp_path)


def test_the_packs_bookings_section_is_read_and_written_back(city, tmp_path):
    rule = BookingRule.objects.get()
    assert (rule.service_code, rule.daily_capacity, rule.window_days) == ("bulky", 3, 56)
    assert BulkyItem.objects.get(code="couch").translated("name", "es") == "Sofá"
    assert not BulkyItem.objects.get(code="tyres").accepted
    out = tmp_path / "out"
    call_command("export_city", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    exported = yaml.safe_load((out / "pickups.yaml").read_text())["bookings"]
    assert exported["cutoff"] == "14:00" and exported["items_per_booking"] == 4
    assert exported["items"][0] == {
        "code": "couch",
        "name": {"en": "Couch", "es": "Sofá"},
        "max": 2,
    }
    assert exported["items"][2]["refused"]["en"].startswith("Take them to the tyre drop-off")


def test_a_broken_bookings_section_names_each_problem(db, tmp_path):
    pack = small_city.write_pack(tmp_path / "small")
    broken = PICKUPS.replace("daily_capacity: 3", "daily_capacity: lots").replace(
        "service_type: bulky", "cutoff: 2pm"
    )
    (pack / "pickups.yaml").write_text(broken)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_city", str(pack), stdout=io.StringIO(), stderr=err)
    report = err.getvalue()
    assert "bookings: daily_capacity is a whole number." in report
    assert "bookings: service_type is the code of the bulky service type." in report
    assert 'bookings: cutoff is a time such as "14:00".' in report


def first_days(n: int = 3) -> list[date]:
    point = AddressPoint.objects.get(source_id="dumont-1300")
    found = offer(
        lat=point.lat,
        long=point.long,
        address_pk=point.pk,
        now=timezone.now(),
        rule=BookingRule.current(),
    )
    return [d.day for d in found.days[:n]]


def book(client: Client, day: date, address_id: str = "dumont-1300", **items: int):
    data = {"address_id": address_id, "day": day.isoformat(), **ROSA}
    data |= {f"item_{code}": count for code, count in (items or {"couch": 1}).items()}
    return client.post(f"/pickups/book/?address_id={address_id}", data)


def test_rosa_books_a_couch_and_a_fridge_and_gets_a_reference(client, city):
    page = client.get("/pickups/book/", {"address_id": "dumont-1300"})
    assert page.status_code == 200
    day = first_days()[0]
    assert day.strftime("%A") == "Wednesday"
    assert f"{day:%A}, {day.day} {day:%B %Y}" in page.content.decode()
    assert "tyre drop-off at 100 Depot Road" in page.content.decode()  # refused, and where to
    r = book(client, day, couch=1, fridge=1)
    assert r.status_code == 302, r.content.decode()
    booking = Booking.objects.get()
    assert r["Location"] == f"/pickups/booking/{booking.token}/"
    confirmation = client.get(r["Location"]).content.decode()
    sr = booking.request
    assert sr.tracking_number in confirmation and "Your pickup is booked" in confirmation
    assert "1 \u00d7 Couch, 1 \u00d7 Fridge" in confirmation
    # The booking is a request of the bulky type, filed by the one intake, at the address.
    assert sr.service_type.service_code == "bulky" and sr.status == Status.OPEN
    assert sr.address_id == "dumont-1300" and "1 \u00d7 Couch, 1 \u00d7 Fridge" in sr.description
    assert "Rosa" not in sr.description and Contact.objects.get(request=sr).email == ROSA["email"]
    assert RouteDay.objects.get(day=day).booked == 1


def test_a_robot_cannot_fill_a_day_one_connection_or_contact_books_a_few_an_hour(
    client, city, settings
):
    settings.CITY311_PICKUP_BOOKINGS_PER_CONTACT = 2
    days = first_days(3)
    assert book(client, days[0]).status_code == 302
    assert book(client, days[1]).status_code == 302
    refused = book(client, days[2])
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "many bookings from you" in refused.content.decode()
    assert Booking.objects.count() == 2
    # Another person on the same connection is counted by the connection's own limit.
    settings.CITY311_PICKUP_BOOKINGS_PER_IP = 3
    other = {**ROSA, "email": "someone@example.org", "phone": ""}
    data = {"address_id": "dumont-1300", "day": days[2].isoformat(), "item_couch": 1, **other}
    assert client.post("/pickups/book/?address_id=dumont-1300", data).status_code == 429


def test_what_cannot_be_booked_is_a_400_that_says_what_to_change(client, city):
    day = first_days()[0]
    r = book(client, day, couch=3)
    assert (
        r.status_code == 400
        and "Ensure this value is less than or equal to 2" in r.content.decode()
    )
    # Tyres are refused, so not on the form: posted anyway, they are not read.
    r = book(client, day, couch=2, fridge=1, tyres=1)
    assert r.status_code == 302
    r = book(client, day, couch=0)
    assert r.status_code == 400 and "List at least one item" in r.content.decode()
    r = client.post(
        "/pickups/book/?address_id=dumont-1300",
        {"address_id": "dumont-1300", "day": day.isoformat(), "item_couch": 1},
    )
    assert r.status_code == 400 and "Give an e-mail address or a phone number" in r.content.decode()
    r = book(client, date(2020, 1, 1))
    assert r.status_code == 400 and "Select a valid choice" in r.content.decode()
    assert Booking.objects.count() == 1


def test_a_refused_item_says_where_to_take_it(city):
    point = AddressPoint.objects.get(source_id="dumont-1300")
    with pytest.raises(actions.BookingError, match="100 Depot Road"):
        actions.book_pickup(
            point,
            day=first_days()[0],
            items={"tyres": 1},
            place="",
            who=actions.Who(email="r@x.org"),
        )


def test_the_cutoff_is_14_00_the_working_day_before_skipping_holidays(city):
    rule = BookingRule.current()
    engine = Schedules(HolidayRule(slide=Slide.NONE, holidays="Memorial Day"), "US")
    zone = profile.zone()
    # Wednesday: Tuesday 14:00. Monday: the Friday before.
    assert cutoff(rule, engine, date(2027, 6, 9)) == datetime(2027, 6, 8, 14, tzinfo=zone)
    assert cutoff(rule, engine, date(2027, 6, 7)) == datetime(2027, 6, 4, 14, tzinfo=zone)
    # Tuesday after Memorial Day (Monday 31 May 2027): the Friday before, 28 May.
    assert cutoff(rule, engine, date(2027, 6, 1)) == datetime(2027, 5, 28, 14, tzinfo=zone)


def test_a_day_past_its_cutoff_is_neither_offered_nor_booked(city):
    point = AddressPoint.objects.get(source_id="dumont-1300")
    day = first_days()[0]
    rule = BookingRule.current()
    closes = cutoff(rule, Schedules.load(), day)
    just_before, at = closes - timedelta(minutes=1), closes
    found = offer(lat=point.lat, long=point.long, address_pk=point.pk, now=at, rule=rule)
    assert day not in [d.day for d in found.days]
    with pytest.raises(actions.BookingError, match="cannot be booked"):
        actions.book_pickup(
            point, day=day, items={"couch": 1}, place="", who=actions.Who(email="r@x.org"), now=at
        )
    booking = actions.book_pickup(
        point,
        day=day,
        items={"couch": 1},
        place="",
        who=actions.Who(email="r@x.org"),
        now=just_before,
    )
    with pytest.raises(actions.BookingError, match="too late to cancel"):
        actions.cancel_booking(booking, now=at)


def test_no_booking_on_a_holiday_and_none_past_the_window(city):
    wednesday = first_days()[1]
    Holiday.objects.create(date=wednesday, name="Small City Day", closed=True)
    days = first_days(20)
    assert wednesday not in days
    # The rest-of-week rule moves that week's collection to Thursday, which is offered.
    assert wednesday + timedelta(days=1) in days
    assert max(days) <= city_today() + timedelta(days=56)


def test_a_full_day_is_not_offered(client, city):
    first, second = first_days(2)
    for _ in range(3):
        assert book(client, first).status_code == 302
    assert first_days(1) == [second]
    r = book(client, first)
    assert r.status_code == 400 and "Select a valid choice" in r.content.decode()
    assert RouteDay.objects.get(day=first).booked == 3


def test_rosa_moves_then_cancels_by_her_link_and_the_slots_follow(client, city):
    first, second = first_days(2)
    book(client, first)
    booking = Booking.objects.get()
    link = f"/pickups/booking/{booking.token}/"
    r = client.post(link, {"action": "change", "day": second.isoformat()})
    assert r.status_code == 302
    assert "Your pickup is moved" in client.get(r["Location"]).content.decode()
    booking.refresh_from_db()
    assert booking.day == second
    assert RouteDay.objects.get(day=first).booked == 0
    assert RouteDay.objects.get(day=second).booked == 1
    assert "Pickup moved to" in booking.request.events.get(kind="request.note").note
    r = client.post(link, {"action": "cancel"})
    assert r.status_code == 302
    assert "This booking is cancelled" in client.get(r["Location"]).content.decode()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert RouteDay.objects.get(day=second).booked == 0
    sr = ServiceRequest.objects.get(pk=booking.request_id)
    assert (sr.status, sr.resolution) == (Status.CLOSED, "cancelled")
    # Cancelled is final: cancelling again says so.
    r = client.post(link, {"action": "cancel"})
    assert r.status_code == 400 and "This booking is cancelled" in r.content.decode()
    assert client.get("/pickups/booking/not-a-token/").status_code == 404


# Zero overbooking: 16 processes, threads inside each, race for the last slots.

# 128 bookings for the last 10 slots by default; the 500 with
# CITY311_PICKUP_RACE_TRIES=8 (512 bookings: about a minute more on this machine).
PROCESSES, THREADS, LAST_SLOTS = 16, 4, 10
TRIES = int(os.environ.get("CITY311_PICKUP_RACE_TRIES", "2"))


def _book_in_threads(day: str, out) -> None:
    def run() -> None:
        client = Client()
        for _ in range(TRIES):
            r = client.post(
                "/pickups/book/?address_id=dumont-1300",
                {"address_id": "dumont-1300", "day": day, "item_couch": 1, **ROSA},
            )
            out.put(r.status_code)
        connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_sixteen_processes_racing_for_the_last_ten_slots_book_exactly_ten(tmp_path):
    load_city(tmp_path)
    day = first_days(1)[0]
    RouteDay.objects.create(
        route=Route.objects.get(code="north"), day=day, capacity=500, booked=500 - LAST_SLOTS
    )
    # Children open their own connections: none may share the parent's socket.
    connections.close_all()
    fork = multiprocessing.get_context("fork")
    out = fork.Queue()
    processes = [
        fork.Process(target=_book_in_threads, args=(day.isoformat(), out)) for _ in range(PROCESSES)
    ]
    for p in processes:
        p.start()
    codes = [out.get(timeout=300) for _ in range(PROCESSES * THREADS * TRIES)]
    for p in processes:
        p.join(60)
        assert p.exitcode == 0
    assert codes.count(302) == LAST_SLOTS, sorted(set(codes))
    assert set(codes) == {302, 400}
    assert RouteDay.objects.get(day=day).booked == 500
    assert Booking.objects.filter(day=day).count() == LAST_SLOTS
    assert ServiceRequest.objects.filter(service_type__service_code="bulky").count() == LAST_SLOTS


# Reminders


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=profile.zone())


def test_reminders_go_three_days_and_one_day_before_once_each(client, city, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    day = first_days(2)[1]
    book(client, day, couch=2)
    mail.outbox.clear()
    assert plan_reminders(at(day - timedelta(days=3), 8)) == 0  # before the reminder hour
    assert plan_reminders(at(day - timedelta(days=3), 9)) == 1
    assert plan_reminders(at(day - timedelta(days=3), 15)) == 0  # never twice
    send_due_deliveries()
    reminders = [m for m in mail.outbox if "Bulky-item pickup" in m.subject]
    assert len(reminders) == 1 and "in three days" in reminders[0].subject
    booking = Booking.objects.get()
    assert booking.manage_url in reminders[0].body and "2 \u00d7 Couch" in reminders[0].body
    assert plan_reminders(at(day - timedelta(days=1), 9)) == 1
    assert plan_reminders(at(day - timedelta(days=1), 10)) == 0
    send_due_deliveries()
    kinds = Delivery.objects.filter(kind__startswith="pickup.").values_list("kind", "status")
    assert sorted(kinds) == [("pickup.reminder_1", "sent"), ("pickup.reminder_3", "sent")]
    assert any("tomorrow" in m.subject for m in mail.outbox)


def test_a_cancelled_booking_gets_no_reminder(client, city):
    day = first_days(2)[1]
    book(client, day)
    actions.cancel_booking(Booking.objects.get())
    assert plan_reminders(at(day - timedelta(days=3), 9)) == 0


# Calendars


def test_the_address_calendar_has_every_collection_with_stable_uids(client, city):
    Holiday.objects.create(date=first_days()[0], name="Small City Day", closed=True)
    r = client.get("/pickups/calendar/dumont-1300.ics")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/calendar")
    assert r["Cache-Control"] == "public, max-age=86400"
    cal = Calendar.from_ical(r.content)
    assert str(cal["REFRESH-INTERVAL"].to_ical().decode()) == "P1D"
    events = cal.walk("VEVENT")
    summaries = {str(e["SUMMARY"]) for e in events}
    assert summaries == {"Trash", "Bulky items"}
    # The holiday's Wednesday collection is on Thursday, with the reason.
    moved = [e for e in events if "Small City Day" in str(e.get("DESCRIPTION", ""))]
    assert moved and all(e.decoded("DTSTART").weekday() in (3, 4) for e in moved)
    again = client.get("/pickups/calendar/dumont-1300.ics")
    assert again.content == r.content
    assert client.get("/pickups/calendar/nope.ics").status_code == 404
    page = client.get("/pickups/", {"address_id": "dumont-1300"}).content.decode()
    assert 'href="/pickups/calendar/dumont-1300.ics"' in page
    assert "webcal://testserver/pickups/calendar/dumont-1300.ics" in page


def test_the_booking_calendar_has_the_pickup_day(client, city):
    day = first_days()[0]
    book(client, day)
    booking = Booking.objects.get()
    r = client.get(f"/pickups/booking/{booking.token}.ics")
    assert r.status_code == 200 and r["Cache-Control"] == "private, no-store"
    (event,) = Calendar.from_ical(r.content).walk("VEVENT")
    assert event.decoded("DTSTART") == day
    assert booking.request.tracking_number in str(event["SUMMARY"])


# The crews' list, capacities, late routes


def test_the_day_list_is_in_route_order_from_the_depot(client, city):
    day = first_days()[0]
    # The depot is at -73.95; Dumont runs east from -73.94 (1300) to -73.92 (1398).
    for number in (1390, 1300, 1350):
        assert book(client, day, address_id=f"dumont-{number}").status_code == 302
    client.force_login(_lena())
    page = client.get("/pickups/staff/", {"day": day.isoformat()}).content.decode()
    assert page.index("1300 DUMONT") < page.index("1350 DUMONT") < page.index("1390 DUMONT")
    assert "North: 3 of 3 booked" in page
    assert "rosa@example.com" not in page
    assert client.get("/pickups/staff/", {"day": "soon"}).status_code == 400


def test_staff_raise_a_days_capacity_and_close_a_booking(client, city):
    day = first_days()[0]
    client.force_login(_lena())
    r = client.post(
        "/pickups/staff/capacity", {"route": "north", "day": day.isoformat(), "capacity": 5}
    )
    assert r.status_code == 302
    assert RouteDay.objects.get(day=day).capacity == 5
    for _ in range(5):
        assert book(client, day).status_code == 302
    assert book(client, day).status_code == 400
    booking = Booking.objects.first()
    r = client.post(
        f"/pickups/staff/bookings/{booking.pk}/close", {"collected": "no", "note": "Not out"}
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NOT_COLLECTED and booking.request.status == Status.CLOSED


def test_a_late_route_shows_on_the_residents_lookup_until_it_is_done(client, city):
    client.force_login(_lena())
    today = city_today()
    client.post(
        "/pickups/staff/late", {"route": "north", "day": today, "note": "A truck broke down."}
    )
    client.logout()
    page = client.get("/pickups/", {"address_id": "dumont-1300"}).content.decode()
    assert "North is running late today" in page and "A truck broke down." in page
    client.force_login(_lena())
    client.post("/pickups/staff/late", {"route": "north", "day": today, "note": ""})
    client.logout()
    page = client.get("/pickups/", {"address_id": "dumont-1300"}).content.decode()
    assert "running late" not in page


def _lena():
    from django.contrib.auth.models import User

    return User.objects.get(username="lena")


def _sam():
    from django.contrib.auth.models import User

    return User.objects.get(username="sam")


def test_a_call_taker_reads_out_the_days_and_books_for_the_caller(client, city):
    # Rosa calls: Sam, a call taker, types her address, reads out her days and books a couch.
    client.force_login(_sam())
    page = client.get("/console/pickups/", {"address": "1300 Dumont Ave"})
    text = page.content.decode()
    assert page.status_code == 200, text
    day = first_days()[0]
    assert "1300 DUMONT AVENUE" in text.upper() and "Bulky items" in text
    assert f"{day:%A}, {day.day} {day:%B %Y}" in text  # the engine's day, offered to book
    assert "tyre drop-off at 100 Depot Road" in text  # refused, and where to take it
    data = {"address_id": "dumont-1300", "day": day.isoformat(), "item_couch": 1}
    data |= {"first_name": "Rosa", "phone": "718-555-0199", "language": "es"}
    r = client.post("/console/pickups/", data)
    booking = Booking.objects.get()
    sr = booking.request
    assert r.status_code == 302 and r["Location"] == f"/console/filed/{sr.tracking_number}/"
    assert sr.channel == "phone" and booking.day == day and booking.items == {"couch": 1}
    assert Contact.objects.get(request=sr).language == "es"
    assert RouteDay.objects.get(day=day).booked == 1
    filed = client.get(r["Location"]).content.decode()
    assert f"{day:%A}, {day.day} {day:%B %Y}" in filed and "1 \u00d7 Couch" in filed
    # A day that cannot be booked says why, and books nothing.
    r = client.post("/console/pickups/", {**data, "day": "2020-01-01"})
    assert r.status_code == 400 and "Select a valid choice" in r.content.decode()
    assert Booking.objects.count() == 1


def test_the_console_lookup_asks_which_address_and_says_what_is_wrong(client, city):
    client.force_login(_sam())
    r = client.get("/console/pickups/", {"address": "99999 Nowhere Boulevard"})
    assert r.status_code == 400 and "could not find that address" in r.content.decode()
    assert client.get("/console/pickups/").status_code == 200
    # Lena works in a department: the console is not hers.
    client.force_login(_lena())
    assert client.get("/console/pickups/", {"address": "1300 Dumont Ave"}).status_code == 403


def test_rosa_books_in_spanish_and_is_reminded_in_spanish(client, city, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    page = client.get("/pickups/book/", {"address_id": "dumont-1300"}, HTTP_ACCEPT_LANGUAGE="es")
    assert "Reservar la recogida" in page.content.decode()
    day = first_days(2)[1]
    data = {"address_id": "dumont-1300", "day": day.isoformat(), "item_couch": 1, **ROSA}
    r = client.post("/pickups/book/?address_id=dumont-1300", data, HTTP_ACCEPT_LANGUAGE="es")
    assert r.status_code == 302
    mail.outbox.clear()
    assert plan_reminders(at(day - timedelta(days=1), 9)) == 1
    send_due_deliveries()
    (reminder,) = [m for m in mail.outbox if "voluminosos" in m.subject]
    assert "mañana" in reminder.subject


def test_a_missed_pickup_is_reported_against_its_booking_unless_the_route_runs_late(city):
    point = AddressPoint.objects.get(source_id="dumont-1300")
    day = first_days()[0]
    booking = actions.book_pickup(
        point, day=day, items={"couch": 1}, place="", who=actions.Who(email="r@x.org")
    )
    with pytest.raises(actions.BookingError, match="tell us after that day"):
        actions.report_missed(booking, today=day - timedelta(days=1))
    actions.mark_late(booking.route, day, note="A truck broke down.", by=None)
    with pytest.raises(actions.BookingError, match="running late today"):
        actions.report_missed(booking, today=day)
    actions.close_booking(booking, collected=True, note="", by=None)
    actions.report_missed(booking, today=day + timedelta(days=1))
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NOT_COLLECTED
    sr = ServiceRequest.objects.get(pk=booking.request_id)
    assert sr.status != Status.CLOSED  # reopened: the crew sees it again
