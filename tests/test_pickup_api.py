"""The pickups' JSON API, items with capacities of their own, fees, and route changes that
move booked pickups: Rosa's app looks up her days and books a couch and a fridge; the day's
last fridge goes to one of two apps racing for it; Lena records a payment; a snow day moves
Rosa's and Lucía's pickups and each is told once, with the old and the new day."""

from __future__ import annotations

import io
import multiprocessing
import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client
from django.utils import timezone

from city311.geo.models import AddressPoint
from city311.notifications.messages import make_message
from city311.notifications.models import Delivery
from city311.notifications.tasks import send_due_deliveries
from city311.pickups.booking import offer
from city311.pickups.models import (
    Booking,
    BookingRule,
    BookingStatus,
    Payment,
    Route,
    RouteDay,
    RouteDayItem,
    ScheduleException,
)
from city311.pickups.reminders import plan_reminders
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.servicerequests.tasks import dispatch_events
from city311.test import city_today
from tests import small_city
from tests.test_pickup_bookings import BULKY_TYPE, PICKUPS, at

# The city charges 10 a booking and 15 a fridge, and a route takes 2 fridges a day.
FEES = PICKUPS.replace(
    "  items_per_booking: 4\n",
    "  items_per_booking: 4\n  fee: 10\n  payment_url: https://pay.small.example/bulky\n",
).replace(
    "{code: fridge, name: {en: Fridge, es: Refrigerador}, max: 1}",
    "{code: fridge, name: {en: Fridge, es: Refrigerador}, max: 1, fee: 15, daily_capacity: 2}",
)
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def _room_for_many_bookings(settings):
    # The per-hour limits have their own test below.
    settings.CITY311_PICKUP_BOOKINGS_PER_IP = 100_000
    settings.CITY311_PICKUP_BOOKINGS_PER_CONTACT = 100_000
    settings.EMAIL_BACKEND = LOCMEM


def load_city(tmp_path: Path) -> None:
    pack = small_city.write_pack(tmp_path / "small")
    (pack / "pickups.yaml").write_text(FEES)
    (pack / "catalog.yaml").write_text(small_city.CATALOG + BULKY_TYPE)
    call_command("import_city", str(pack), stdout=io.StringIO(), stderr=io.StringIO())


@pytest.fixture
def city(db, tmp_path):
    load_city(tmp_path)


def days_offered(n: int = 3) -> list[date]:
    point = AddressPoint.objects.get(source_id="dumont-1300")
    found = offer(
        lat=point.lat,
        long=point.long,
        address_pk=point.pk,
        now=timezone.now(),
        rule=BookingRule.current(),
    )
    return [d.day for d in found.days[:n]]


def rosa(day: date, address_id: str = "dumont-1300", **items: int) -> dict:
    return {
        "address_id": address_id,
        "day": day.isoformat(),
        "items": items or {"couch": 1},
        "first_name": "Rosa",
        "email": "rosa@example.com",
        "place": "By the driveway",
    }


def post(client: Client, body: object, **headers: str):
    return client.post("/api/pickups/bookings", body, content_type="application/json", **headers)


def lena() -> User:
    return User.objects.get(username="lena")


# Next collection days: an address, a pin, a route


def test_the_next_days_for_an_address_a_pin_and_a_route_come_from_one_engine(client, city):
    by_address = client.get("/api/pickups", {"address_id": "dumont-1300"}).json()
    point = AddressPoint.objects.get(source_id="dumont-1300")
    by_pin = client.get("/api/pickups", {"lat": point.lat, "long": point.long}).json()
    by_route = client.get("/api/pickups", {"route": "north"}).json()
    assert by_address["collections"] == by_pin["collections"] == by_route["collections"]
    assert [c["collection"] for c in by_route["collections"]] == ["trash", "bulky"]
    assert by_route["route"] == "north" and by_pin["lat"] == point.lat


def test_a_bad_pin_or_route_is_a_400_that_names_the_field(client, city):
    r = client.get("/api/pickups", {"lat": "north", "long": "-73.9"})
    assert r.status_code == 400 and r.json()["field"] == "lat"
    assert "lat and long must be numbers" in r.json()["error"]
    r = client.get("/api/pickups", {"lat": "91", "long": "0"})
    assert r.status_code == 400
    r = client.get("/api/pickups", {"route": "nowhere"})
    assert r.status_code == 400 and r.json()["field"] == "route"
    r = client.get("/api/pickups", {"route": "nowhere"}, HTTP_ACCEPT_LANGUAGE="es")
    assert r.json()["error"] == "Ninguna ruta tiene ese código."


# Items and days


def test_the_items_say_their_limits_fees_and_where_refused_ones_go(client, city):
    body = client.get("/api/pickups/items").json()
    fridge = next(i for i in body["items"] if i["code"] == "fridge")
    assert fridge == {
        "code": "fridge",
        "name": "Fridge",
        "max_per_booking": 1,
        "fee": "15.00",
        "daily_capacity": 2,
    }
    assert body["fee_per_booking"] == "10.00" and body["items_per_booking"] == 4
    assert body["refused"][0]["code"] == "tyres" and "100 Depot Road" in body["refused"][0]["where"]
    spanish = client.get("/api/pickups/items", HTTP_ACCEPT_LANGUAGE="es").json()
    assert {i["name"] for i in spanish["items"]} == {"Sofá", "Refrigerador"}


def test_the_days_an_address_may_book_with_places_and_fridges_left(client, city):
    r = client.get("/api/pickups/days", {"address_id": "dumont-1300"})
    assert r.status_code == 200
    first = r.json()["days"][0]
    assert first["date"] == days_offered()[0].isoformat()
    assert first["left"] == 3 and first["items_left"] == {"fridge": 2}
    assert "T14:00:00" in first["book_before"]
    r = client.get("/api/pickups/days")
    assert r.status_code == 400 and r.json()["field"] == "address_id"
    assert client.get("/api/pickups/days", {"address_id": "nope"}).status_code == 400


# Booking through the API


def test_rosas_app_books_reads_moves_and_cancels_a_pickup(client, city):
    first, second = days_offered(2)
    r = post(client, rosa(first, couch=1, fridge=1))
    assert r.status_code == 201, r.content
    body = r.json()
    booking = Booking.objects.get()
    assert body["reference"] == booking.request.tracking_number
    assert body["date"] == first.isoformat() and body["fee"] == "25.00"
    assert body["payment"] == "unpaid" and body["status"] == "booked"
    assert {"code": "fridge", "name": "Fridge", "count": 1} in body["items"]
    assert "rosa@example.com" not in r.content.decode()
    assert booking.request.channel == "mobile_app" and booking.planned == first
    assert RouteDay.objects.get(day=first).booked == 1
    assert RouteDayItem.objects.get(day=first, item="fridge").booked == 1
    link = f"/api/pickups/bookings/{body['token']}"
    assert client.get(link).json()["reference"] == body["reference"]
    r = client.patch(link, {"day": second.isoformat()}, content_type="application/json")
    assert r.status_code == 200 and r.json()["date"] == second.isoformat()
    assert RouteDayItem.objects.get(day=first, item="fridge").booked == 0
    assert RouteDayItem.objects.get(day=second, item="fridge").booked == 1
    r = client.delete(link)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert RouteDay.objects.get(day=second).booked == 0
    assert RouteDayItem.objects.get(day=second, item="fridge").booked == 0
    r = client.delete(link)
    assert r.status_code == 400 and "This booking is cancelled" in r.json()["error"]
    assert client.get("/api/pickups/bookings/guessed").status_code == 404


def test_bad_bookings_are_400s_that_say_what_to_send(client, city):
    day = days_offered()[0]
    cases = [
        ("not json", None, "Send a JSON object"),
        ([1, 2], None, "Send a JSON object"),
        ({**rosa(day), "address_id": ""}, "address_id", "Give address_id"),
        ({**rosa(day), "address_id": "nope"}, "address_id", "No address has that id"),
        ({**rosa(day), "day": "soon"}, "day", "day must be a date"),
        ({**rosa(day), "items": ["couch"]}, "items", "items is an object"),
        ({**rosa(day), "items": {"couch": True}}, "items", "items is an object"),
        ({**rosa(day), "email": 7}, "email", "email must be text"),
        (rosa(day, couch=3), "couch", "At most 2 of Couch"),
        (rosa(day, couch=2, fridge=1, tyres=1), "tyres", "We do not collect Tyres"),
        (rosa(day, sofa=1), None, "Unknown item 'sofa'"),
        (rosa(day, couch=0), "items", "List at least one item"),
        ({**rosa(day), "email": ""}, "email", "Give an e-mail address or a phone number"),
        (rosa(date(2020, 1, 1)), "day", "cannot be booked at this address"),
    ]
    for body, field, words in cases:
        r = post(client, body)
        assert r.status_code == 400, (body, r.content)
        assert words in r.json()["error"], (body, r.json())
        assert r.json().get("field") == field, (body, r.json())
    assert Booking.objects.count() == 0
    r = post(client, {**rosa(day), "day": "pronto"}, HTTP_ACCEPT_LANGUAGE="es")
    assert r.json()["error"] == "day debe ser una fecha como 2027-06-02."
    assert client.get("/api/pickups/bookings").status_code == 405


def test_the_api_has_the_portals_hourly_limits(client, city, settings):
    settings.CITY311_PICKUP_BOOKINGS_PER_CONTACT = 1
    first, second = days_offered(2)
    assert post(client, rosa(first)).status_code == 201
    r = post(client, rosa(second))
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert r.json()["retry_after"] == int(r["Retry-After"])
    assert "Too many bookings" in r.json()["error"]
    assert Booking.objects.count() == 1


# Items with a capacity of their own


def test_a_routes_fridges_a_day_are_counted_apart_from_its_bookings(client, city):
    day = days_offered()[0]
    for number in (1300, 1350):
        assert post(client, rosa(day, f"dumont-{number}", fridge=1)).status_code == 201
    r = post(client, rosa(day, "dumont-1390", fridge=1))
    assert r.status_code == 400 and r.json()["field"] == "fridge"
    assert "No more Fridge can be collected that day" in r.json()["error"]
    assert client.get("/api/pickups/days", {"address_id": "dumont-1390"}).json()["days"][0] == {
        **client.get("/api/pickups/days", {"address_id": "dumont-1390"}).json()["days"][0],
        "left": 1,
        "items_left": {"fridge": 0},
    }
    # The portal's form says the same.
    page = client.post(
        "/pickups/book/?address_id=dumont-1390",
        {"address_id": "dumont-1390", "day": day.isoformat(), "item_fridge": 1}
        | {"email": "x@example.com"},
    )
    assert page.status_code == 400 and "No more Fridge can be collected" in page.content.decode()
    # The refused bookings took nothing: the day has one place left, for a couch.
    assert RouteDay.objects.get(day=day).booked == 2
    assert post(client, rosa(day, "dumont-1390", couch=1)).status_code == 201


def _book_a_fridge(day: str, out) -> None:
    def run() -> None:
        r = Client().post(
            "/api/pickups/bookings",
            rosa(date.fromisoformat(day), fridge=1),
            content_type="application/json",
        )
        out.put(r.status_code)
        connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_two_apps_racing_for_the_last_fridge_book_it_once(tmp_path):
    load_city(tmp_path)
    day = days_offered()[0]
    route = Route.objects.get(code="north")
    # The day has room for bookings, and one fridge left.
    RouteDay.objects.create(route=route, day=day, capacity=40, booked=0)
    RouteDayItem.objects.create(route=route, day=day, item="fridge", capacity=2, booked=1)
    connections.close_all()
    fork = multiprocessing.get_context("fork")
    out = fork.Queue()
    processes = [fork.Process(target=_book_a_fridge, args=(day.isoformat(), out)) for _ in range(4)]
    for p in processes:
        p.start()
    codes = [out.get(timeout=300) for _ in range(8)]
    for p in processes:
        p.join(60)
        assert p.exitcode == 0
    assert sorted(codes) == [201] + [400] * 7, codes
    assert RouteDayItem.objects.get(day=day, item="fridge").booked == 2
    assert RouteDay.objects.get(day=day).booked == 1
    assert Booking.objects.filter(day=day).count() == 1


# Fees


def test_the_confirmation_shows_the_amount_due_and_staff_record_the_payment(client, city):
    r = post(client, rosa(days_offered()[0], couch=1, fridge=1))
    booking = Booking.objects.get()
    assert booking.fee == Decimal("25.00")
    page = client.get(f"/pickups/booking/{booking.token}/").content.decode()
    assert "Amount due" in page and "25.00 (Unpaid)" in page
    assert 'href="https://pay.small.example/bulky"' in page
    spanish = client.get(f"/pickups/booking/{booking.token}/", HTTP_ACCEPT_LANGUAGE="es")
    assert "Importe a pagar" in spanish.content.decode()
    client.force_login(lena())
    listing = client.get("/pickups/staff/", {"day": booking.day.isoformat()}).content.decode()
    assert "Fee 25.00: Unpaid" in listing and "Save payment" in listing
    r = client.post(f"/pickups/staff/bookings/{booking.pk}/payment", {"payment": "paid"})
    assert r.status_code == 302
    booking.refresh_from_db()
    assert booking.payment == Payment.PAID
    note = booking.request.events.get(kind="request.note")
    assert note.note == "Payment: Paid (25.00 due)." and not note.public
    r = client.post(
        f"/pickups/staff/bookings/{booking.pk}/payment", {"payment": "free"}, follow=True
    )
    booking.refresh_from_db()
    assert booking.payment == Payment.PAID
    assert "Choose unpaid, paid or waived." in r.content.decode()


def test_a_city_without_fees_shows_none(client, db, tmp_path):
    pack = small_city.write_pack(tmp_path / "small")
    (pack / "pickups.yaml").write_text(PICKUPS)
    (pack / "catalog.yaml").write_text(small_city.CATALOG + BULKY_TYPE)
    call_command("import_city", str(pack), stdout=io.StringIO(), stderr=io.StringIO())
    r = post(client, rosa(days_offered()[0], fridge=1))
    assert r.json()["fee"] == "0.00"
    page = client.get(f"/pickups/booking/{r.json()['token']}/").content.decode()
    assert "Amount due" not in page


def test_fees_and_item_capacities_go_back_out_in_the_pack(city, tmp_path):
    out = tmp_path / "out"
    call_command("export_city", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    exported = yaml.safe_load((out / "pickups.yaml").read_text())["bookings"]
    assert exported["fee"] == "10.00"
    assert exported["payment_url"] == "https://pay.small.example/bulky"
    fridge = next(i for i in exported["items"] if i["code"] == "fridge")
    assert (fridge["fee"], fridge["daily_capacity"]) == ("15.00", 2)


def test_a_broken_fee_is_named(db, tmp_path):
    pack = small_city.write_pack(tmp_path / "small")
    (pack / "pickups.yaml").write_text(FEES.replace("fee: 15", "fee: lots"))
    (pack / "catalog.yaml").write_text(small_city.CATALOG + BULKY_TYPE)
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_city", str(pack), stdout=io.StringIO(), stderr=err)
    assert "bookings item fridge: fee is an amount such as 25 or 12.50." in err.getvalue()


# Route changes: residents are told, once, with the old and the new day


def book_rosa_and_lucia(client: Client) -> tuple[Booking, Booking, date]:
    day = days_offered()[0]
    assert post(client, rosa(day)).status_code == 201
    lucia = {**rosa(day, "dumont-1350"), "email": "", "phone": "+17185550199", "language": "es"}
    assert post(client, lucia).status_code == 201
    dispatch_events()
    send_due_deliveries()
    mail.outbox.clear()
    first, second = Booking.objects.order_by("pk")
    return first, second, day


def rescheduled(booking: Booking) -> list[Delivery]:
    return list(Delivery.objects.filter(request=booking.request, kind="request.rescheduled"))


def test_a_snow_day_moves_the_booked_pickups_and_each_resident_is_told_once(client, city):
    rosas, lucias, day = book_rosa_and_lucia(client)
    client.force_login(lena())
    page = client.get("/pickups/staff/changes")
    assert page.status_code == 200 and "Add the exception" in page.content.decode()
    r = client.post(
        "/pickups/staff/changes",
        {
            "what": "exception",
            "day": day.isoformat(),
            "action": "cancel",
            "route": "north",
            "collection": "bulky",
            "reason": "Snow emergency",
            "reason_es": "Emergencia por nieve",
        },
    )
    assert r.status_code == 302
    assert "2 booked pickups moved" in client.get(r["Location"]).content.decode()
    rosas.refresh_from_db()
    assert rosas.day == day + timedelta(days=7) and rosas.planned == day
    assert RouteDay.objects.get(day=day).booked == 0
    assert RouteDay.objects.get(day=rosas.day).booked == 2
    dispatch_events()
    send_due_deliveries()
    (message,) = [m for m in mail.outbox if "rosa@example.com" in m.to]
    old, new = f"{day:%A}, {day.day} {day:%B %Y}", f"{rosas.day:%A}, {rosas.day.day}"
    assert f"it was {old}, it is now {new}" in message.body
    assert "Why: Snow emergency" in message.body and rosas.manage_url in message.body
    assert message.subject.startswith("Your pickup day has changed")
    (sms,) = rescheduled(lucias)
    assert sms.channel == "sms" and sms.status == "sent"
    text = make_message(sms).sms
    assert "Emergencia por nieve" in text and lucias.request.tracking_number in text
    assert "se cambió del" in text
    # The history says it publicly; the resident's track page shows it.
    event = RequestEvent.objects.get(request=rosas.request, kind="request.rescheduled")
    assert event.public and event.data["from"] == day.isoformat()
    track = client.get(f"/track/{rosas.request.tracking_number}").content.decode()
    assert "The appointment day changed" in track
    # Told once: the stream running again, another save of the page, nothing new.
    dispatch_events()
    send_due_deliveries()
    client.post("/pickups/staff/changes", {"what": "schedule", "schedule": "0"})
    assert len(rescheduled(rosas)) == 1 and len(rescheduled(lucias)) == 1
    assert len([m for m in mail.outbox if "rosa@example.com" in m.to]) == 1


def test_taking_the_snow_day_back_brings_the_pickups_back_and_says_so(client, city):
    rosas, _lucias, day = book_rosa_and_lucia(client)
    client.force_login(lena())
    snow = {"what": "exception", "day": day.isoformat(), "action": "cancel", "reason": "Snow"}
    client.post("/pickups/staff/changes", snow)
    change = ScheduleException.objects.get()
    r = client.post(
        "/pickups/staff/changes",
        {"what": "remove", "exception": change.pk, "reason": "The snow has cleared."},
    )
    assert r.status_code == 302 and not ScheduleException.objects.exists()
    rosas.refresh_from_db()
    assert rosas.day == day
    dispatch_events()
    send_due_deliveries()
    told = [m for m in mail.outbox if "rosa@example.com" in m.to]
    assert len(told) == 2 and "The snow has cleared." in told[1].body


def test_a_new_route_rule_moves_the_pickups_to_the_new_day(client, city):
    rosas, _lucias, day = book_rosa_and_lucia(client)
    plan_reminders(at(day - timedelta(days=3), 9))
    client.force_login(lena())
    schedule = Route.objects.get(code="north").schedules.get(collection__code="bulky")
    r = client.post(
        "/pickups/staff/changes",
        {
            "what": "schedule",
            "schedule": schedule.pk,
            "rule": "FREQ=WEEKLY;BYDAY=TH",
            "reason": "North now collects bulky items on Thursdays.",
        },
    )
    assert r.status_code == 302
    rosas.refresh_from_db()
    assert rosas.day == day + timedelta(days=1) and rosas.planned == rosas.day
    # The reminder queued for Wednesday is planned again for Thursday.
    assert not Delivery.objects.filter(request=rosas.request, kind__startswith="pickup.").exists()
    assert plan_reminders(at(rosas.day - timedelta(days=3), 9)) == 2
    dispatch_events()
    send_due_deliveries()
    (message,) = [m for m in mail.outbox if "moved" in m.subject or "changed" in m.subject]
    assert "North now collects bulky items on Thursdays." in message.body


def test_a_change_to_another_collection_moves_no_booking(client, city):
    rosas, _lucias, day = book_rosa_and_lucia(client)
    client.force_login(lena())
    r = client.post(
        "/pickups/staff/changes",
        {"what": "exception", "day": day, "action": "cancel", "collection": "trash"}
        | {"reason": "Strike"},
    )
    assert r.status_code == 302
    rosas.refresh_from_db()
    assert rosas.day == day and not rescheduled(rosas)


def test_a_bad_change_is_a_400_that_says_what_to_fix(client, city):
    client.force_login(lena())
    today = city_today()
    cases = [
        ({"what": "exception", "day": "soon", "action": "cancel", "reason": "x"}, "Give the day"),
        ({"what": "exception", "day": today, "action": "explode", "reason": "x"}, "Choose can"),
        ({"what": "exception", "day": today, "action": "move", "reason": "x"}, "Give the day the"),
        ({"what": "exception", "day": today, "action": "cancel"}, "Say why"),
        ({"what": "exception", "day": today - timedelta(days=1), "action": "cancel"}, "has passed"),
        (
            {"what": "exception", "day": today, "action": "cancel", "reason": "x", "route": "q"},
            "No such route",
        ),
    ]
    for data, words in cases:
        r = client.post("/pickups/staff/changes", data)
        assert r.status_code == 400 and words in r.content.decode(), data
    schedule = Route.objects.get(code="north").schedules.get(collection__code="bulky")
    r = client.post(
        "/pickups/staff/changes",
        {"what": "schedule", "schedule": schedule.pk, "rule": "every tuesday", "reason": "x"},
    )
    assert r.status_code == 400
    assert "is not a rule such as FREQ=WEEKLY;BYDAY=TU" in r.content.decode()
    assert not ScheduleException.objects.exists()
    r = client.post("/pickups/staff/changes", {"what": "remove", "exception": "12"})
    assert r.status_code == 404
    spanish = client.post(
        "/pickups/staff/changes", cases[3][0], HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "Diga por qué" in spanish


def test_the_changes_page_and_payments_are_for_the_departments_staff(client, city):
    rosas_booking = post(client, rosa(days_offered()[0])).json()
    booking = Booking.objects.get(token=rosas_booking["token"])
    client.force_login(User.objects.get(username="sam"))  # a call taker: sees, does not change
    assert client.get("/pickups/staff/changes").status_code == 403
    r = client.post(f"/pickups/staff/bookings/{booking.pk}/payment", {"payment": "waived"})
    assert r.status_code == 403
    booking.refresh_from_db()
    assert booking.payment == Payment.UNPAID and booking.status == BookingStatus.BOOKED
    client.logout()
    assert client.get("/pickups/staff/changes").status_code == 302
    assert ServiceRequest.objects.count() == 1
