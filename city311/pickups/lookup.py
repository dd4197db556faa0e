"""When is my pickup? An address's collections and their next days, from the one engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.utils.translation import gettext as _

from city311.catalog.cache import attach_texts, catalog
from city311.geo import geocoding
from city311.geo.geocoding import Candidate
from city311.geo.models import AddressPoint
from city311.pickups.models import AddressRoute, Collection, Route, RouteSchedule
from city311.pickups.routes import routes_at
from city311.pickups.schedule import Pickup, Rule, Schedules


@dataclass(frozen=True)
class Upcoming:
    collection: Collection
    route: Route
    pickups: list[Pickup]


def upcoming(
    *,
    lat: float,
    long: float,
    address_pk: int | None = None,
    today: date,
    count: int = 3,
    route_ids: tuple[int, ...] = (),
) -> list[Upcoming]:
    """Each collection at the place, with its next `count` days from `today`. `route_ids`:
    the address's routes as mapped ahead, when its lookup read them already (Place)."""
    if route_ids:
        return _on_route_ids(list(route_ids), today, count)
    if address_pk is not None:
        # One indexed read: the routes mapped ahead (routes.remap) by id.
        mapped = list(
            AddressRoute.objects.filter(address_id=address_pk).values_list("route_id", flat=True)
        )
        if mapped:
            return _on_route_ids(mapped, today, count)
    return on_routes(routes_at(lat=lat, long=long), today, count)


def on_routes(routes: list[Route], today: date, count: int = 3) -> list[Upcoming]:
    """Each collection of the routes, with its next `count` days from `today`."""
    return _on_route_ids([r.pk for r in routes], today, count)


def _on_route_ids(routes: list[int], today: date, count: int) -> list[Upcoming]:
    schedules = Schedules.current()
    known = route_schedules()
    found = [s for route in routes for s in known.get(route, [])]
    found.sort(key=lambda s: (s.collection.order, s.collection.code))
    return [
        Upcoming(s.collection, s.route, schedules.next_pickups(Rule.of(s), today, count))
        for s in found
    ]


def route_schedules() -> dict[int, list[RouteSchedule]]:
    """Every route's schedules, with their route and collection (its names' translations
    attached), by route id, as of the current catalog version. Read by every lookup and
    changed rarely: reading them was a query a lookup (bench/pickup_lookup.py). Saving or
    deleting a route, a schedule or a collection moves the version (pickups/apps.py).
    Shared between threads: read them, never change them."""
    return catalog().derived("pickups.route_schedules", _load_route_schedules)


def _load_route_schedules() -> dict[int, list[RouteSchedule]]:
    rows = list(RouteSchedule.objects.select_related("route", "collection"))
    attach_texts([row.collection for row in rows])
    found: dict[int, list[RouteSchedule]] = {}
    for row in rows:
        found.setdefault(row.route_id, []).append(row)
    return found


def point_by_id(address_id: str) -> AddressPoint | None:
    """The address point with this id (the oldest, should an import have left two).

    Ordered by the id column first, so the database reads it from the source_id index: with
    `.first()`'s ORDER BY pk LIMIT 1, PostgreSQL walked the primary key instead until a
    fresh import's statistics were analyzed, 150 ms a lookup at 1,000,000 addresses
    (bench/pickup_lookup.py)."""
    return AddressPoint.objects.filter(source_id=address_id).order_by("source_id", "pk").first()


@dataclass(frozen=True)
class Place:
    label: str
    lat: float
    long: float
    address_pk: int | None = None
    address_id: str = ""
    # The routes mapped ahead to the address (AddressRoute), read with it; empty: not known.
    route_ids: tuple[int, ...] = ()


def _mapped_place(address_id: str) -> Place | None:
    """The address point with this id and the routes mapped to it, in one query.

    The lookup's hot path (bench/pickup_lookup.py): two ORM queries (the point, then its
    routes) were a third of a lookup's CPU, most of it building their SQL. Written once here
    instead; ordered as point_by_id is (the oldest point, read from the source_id index)."""
    point, routes = AddressPoint._meta.db_table, AddressRoute._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, p.number, p.street, p.city, p.lat, p.long, r.route_id "
            f"FROM {point} p LEFT JOIN {routes} r ON r.address_id = p.id "
            "WHERE p.source_id = %s ORDER BY p.source_id, p.id",
            [address_id],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    pk, number, street, city, lat, long, _route = rows[0]
    label = " ".join(p for p in (number, street) if p).strip()
    if city:
        label += f", {city}"
    route_ids = tuple(row[6] for row in rows if row[0] == pk and row[6] is not None)
    return Place(label, lat, long, pk, address_id, route_ids)


@dataclass(frozen=True)
class Found:
    """What an address search came to: one place, or candidates to choose from, or a problem."""

    place: Place | None = None
    choices: tuple[Candidate, ...] = ()
    problem: str = ""


# An answer this sure, and clearly ahead of the next, is taken without asking.
_SURE = 0.9


def find_place(*, address: str = "", address_id: str = "") -> Found:
    """The address a resident gave, as a place whose collections can be looked up."""
    if address_id:
        place = _mapped_place(address_id)
        if place is None:
            return Found(problem=_("No address has that id: search for the address instead."))
        return Found(place)
    address = address.strip()[:200]
    if not address:
        return Found(problem=_("Enter your address, for example 350 5th Ave, Manhattan."))
    candidates = [c for c in geocoding.geocode(address, limit=5) if c.match != "street"]
    if not candidates:
        return Found(
            problem=_(
                "We could not find that address in the city. Check the house number and "
                "street, or call us."
            )
        )
    best = candidates[0]
    second = candidates[1].confidence if len(candidates) > 1 else 0.0
    if best.confidence >= _SURE and best.confidence - second > 0.05:
        if best.address_id:
            return find_place(address_id=best.address_id)
        return Found(Place(best.address, best.lat, best.long))
    return Found(choices=tuple(candidates))
