"""Reads for the staff's pages: a day's bookings per route, in the order a truck drives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from city311.lib.distance import metres
from city311.pickups.models import Booking, BookingRule, BookingStatus, Route, RouteDay


@dataclass
class RouteList:
    route: Route
    capacity: int
    booked: int
    late_note: str
    stops: list[Booking] = field(default_factory=list)


def in_route_order(route: Route, bookings: list[Booking]) -> list[Booking]:
    """A nearest-next walk from the route's depot (or from the first stop without one)."""
    placed = {
        b.pk: (b.request.lat, b.request.long)
        for b in bookings
        if b.request.lat is not None and b.request.long is not None
    }
    left = [b for b in bookings if b.pk in placed]
    unplaced = [b for b in bookings if b.pk not in placed]
    if route.depot_lat is not None and route.depot_long is not None:
        here = (route.depot_lat, route.depot_long)
    elif left:
        here = placed[left[0].pk]
    else:
        return unplaced
    ordered = []
    while left:
        nearest = min(left, key=lambda b: metres(*here, *placed[b.pk]))
        left.remove(nearest)
        ordered.append(nearest)
        here = placed[nearest.pk]
    return ordered + unplaced


def day_lists(day: date) -> list[RouteList]:
    """Every route's bookings for `day` (open ones, then closed), with its capacity."""
    rule = BookingRule.current()
    rows = {d.route_id: d for d in RouteDay.objects.filter(day=day)}
    bookings: dict[int, list[Booking]] = {}
    for b in (
        Booking.objects.filter(day=day)
        .exclude(status=BookingStatus.CANCELLED)
        .select_related("request")
        .order_by("pk")
    ):
        bookings.setdefault(b.route_id, []).append(b)
    found = []
    for route in Route.objects.filter(schedules__collection__code=rule.collection_code).distinct():
        row = rows.get(route.pk)
        found.append(
            RouteList(
                route,
                row.capacity if row else rule.daily_capacity,
                row.booked if row else 0,
                row.late_note if row else "",
                in_route_order(route, bookings.get(route.pk, [])),
            )
        )
    return found
