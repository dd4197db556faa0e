"""Routes redrawn: the city moves the line between North and South, and the south end of Van
Siclen Avenue goes to South. Rosa's and Lucía's pickups there move to South's day (Lucía's,
booked after Rosa's, to South's next day with room: the first is full), each told once in
their own language by real e-mail; Ana's, on Dumont Avenue, stays. Sam, who follows his
Van Siclen address, hears its new days; Ada, who follows Dumont Avenue, hears nothing.
Importing the same map again moves and tells no one."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from city311.notifications.tasks import send_due_deliveries
from city311.pickups.models import Booking, Route, RouteDay, RouteSchedule
from city311.pickups.schedule import Rule, Schedules
from city311.pickups.subscriptions import send_notices
from city311.servicerequests.tasks import dispatch_events
from tests import small_city
from tests.test_notifications_worker import Mailbox
from tests.test_pickup_api import days_offered, post, rosa
from tests.test_pickup_moves import lena_client, two_route_city
from tests.test_work_audit import mailbox  # noqa: F401


@pytest.fixture(autouse=True)
def _room_for_many_bookings(settings):
    settings.CITY311_PICKUP_BOOKINGS_PER_IP = 100_000
    settings.CITY311_PICKUP_BOOKINGS_PER_CONTACT = 100_000


@pytest.fixture
def city(db, tmp_path: Path) -> None:
    """The small city (every address in North, the line at 40.65), South collecting bulky
    items on Thursdays, North on Wednesdays."""
    two_route_city(tmp_path, south_bulky="TH", line=40.65)


def redraw(tmp_path: Path, line: float) -> None:
    small_city.redraw_zones(tmp_path, line)


def book(client: Client, day: date, name: str, address_id: str, language: str = "en") -> Booking:
    body = {**rosa(day, address_id), "first_name": name, "email": f"{name}@example.com"}
    r = post(client, body | {"language": language})
    assert r.status_code == 201, r.content
    return Booking.objects.get(token=r.json()["token"])


def subscribe(client: Client, box: Mailbox, name: str, address_id: str) -> None:
    r = client.post("/pickups/subscribe", {"address_id": address_id, "email": f"{name}@x.org"})
    assert r.status_code == 200, r.content
    send_notices()
    (confirmation,) = [m for m in box.messages if f"{name}@x.org" in str(m["To"])]
    path = re.search(r"https?://[^\s]+(/pickups/subscription/confirm/\S+)", box.body(confirmation))
    assert path, box.body(confirmation)
    assert client.get(path.group(1)).status_code == 200


def south_thursdays(first: date) -> list[date]:
    schedule = RouteSchedule.objects.get(route__code="south", collection__code="bulky")
    engine = Schedules.load()
    return [
        p.day
        for p in engine.pickups(Rule.of(schedule), first, first + timedelta(days=28))
        if not p.cancelled and not engine.holiday(p.day)
    ]


def deliver() -> None:
    """What the task workers do: the history's messages, then the subscribers' notices."""
    dispatch_events()
    send_due_deliveries()
    send_notices()


def bodies(box: Mailbox, address: str) -> list[str]:
    return [box.body(m) for m in box.messages if address in str(m["To"])]


def test_redrawn_routes_move_the_bookings_and_tell_residents_and_subscribers(
    client,
    city,
    mailbox,  # noqa: F811 (the fixture, imported above)
    tmp_path,
):
    first = days_offered(1)[0]
    rosa_booking = book(client, first, "rosa", "vansiclen-500")  # 40.66: goes to South
    lucia = book(client, first, "lucia", "vansiclen-504", language="es")
    ana = book(client, first, "ana", "dumont-1300")  # 40.67: stays North
    subscribe(client, mailbox, "sam", "vansiclen-500")
    subscribe(client, mailbox, "ada", "dumont-1300")
    thursday, next_thursday = south_thursdays(first)[:2]
    # South's first Thursday takes one more booking.
    r = lena_client().post(
        "/pickups/staff/capacity", {"route": "south", "day": thursday, "capacity": 1}
    )
    assert r.status_code == 302
    deliver()
    mailbox.messages.clear()

    redraw(tmp_path, 40.665)

    for booking in (rosa_booking, lucia, ana):
        booking.refresh_from_db()
    assert (rosa_booking.route.code, rosa_booking.day) == ("south", thursday)
    assert (lucia.route.code, lucia.day) == ("south", next_thursday)
    assert (ana.route.code, ana.day) == ("north", first)
    # The places follow: North's Wednesday gave back two, South's days took one each.
    assert RouteDay.objects.get(route__code="north", day=first).booked == 1
    assert RouteDay.objects.get(route__code="south", day=thursday).booked == 1
    assert RouteDay.objects.get(route__code="south", day=next_thursday).booked == 1
    # The staff read why on each moved request.
    note = lucia.request.events.get(kind="request.note")
    assert not note.public and "now on route South" in note.note and "was full" in note.note

    deliver()
    (to_rosa,) = bodies(mailbox, "rosa@example.com")
    assert "now on the South route" in to_rosa
    assert f"{thursday:%A}, {thursday.day} {thursday:%B}" in to_rosa
    (to_lucia,) = bodies(mailbox, "lucia@example.com")
    assert "ahora está en la ruta South" in to_lucia and "completo" in to_lucia
    assert bodies(mailbox, "ana@example.com") == []
    (to_sam,) = bodies(mailbox, "sam@x.org")
    assert "now on the South route" in to_sam and "Bulky items:" in to_sam
    assert f"{thursday:%A}" in to_sam
    assert bodies(mailbox, "ada@x.org") == []

    # The same map again: nothing moves, nobody is told twice.
    mailbox.messages.clear()
    redraw(tmp_path, 40.665)
    deliver()
    assert mailbox.messages == []
    rosa_booking.refresh_from_db()
    assert (rosa_booking.route.code, rosa_booking.day) == ("south", thursday)


def test_a_booking_whose_address_no_route_collects_stays_and_the_staff_are_told_once(
    client, city, tmp_path
):
    first = days_offered(1)[0]
    booking = book(client, first, "rosa", "vansiclen-500")
    RouteSchedule.objects.filter(route__code="south", collection__code="bulky").delete()
    for _ in range(2):
        redraw(tmp_path, 40.665)
        redraw(tmp_path, 40.6651)
    booking.refresh_from_db()
    assert (booking.route.code, booking.day) == ("north", first)
    notes = booking.request.events.filter(kind="request.note")
    assert [n.note for n in notes] == [
        "Routes redrawn: no route collects bulky items at this address now; the pickup "
        "stays on route North."
    ]
    assert RouteDay.objects.get(route__code="north", day=first).booked == 1


def test_remap_pickups_after_the_routes_swap_areas_moves_the_bookings_and_says_so(client, city):
    # The administrator swaps the two routes' areas in the admin, then runs remap_pickups.
    first = days_offered(1)[0]
    booking = book(client, first, "rosa", "dumont-1300")
    for route in Route.objects.all():
        route.area_code = {"N": "S", "S": "N"}[route.area_code]
        route.save()
    out = io.StringIO()
    call_command("remap_pickups", verbosity=0, stdout=out, stderr=io.StringIO())
    assert "1 booked pickups moved to their address's new route (0 to a later day" in out.getvalue()
    booking.refresh_from_db()
    assert (booking.route.code, booking.day) == ("south", south_thursdays(first)[0])
