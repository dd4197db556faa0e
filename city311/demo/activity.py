"""A demo city on a normal day: the last 90 days of requests, generated relative to today.

A demo made only of imported history (years old, all closed or long forgotten) shows an empty
home page and map and a queue of nothing live. This writes what a working 311 centre would
hold today: requests of every type in the proportions the city's real history has them, at the
city's own address points, on every channel, from residents writing in English and Spanish,
closed after the time the real records of their type took — so the older ones are mostly closed,
this week's mostly open, some in progress with a crew, and the slow types overdue.

The requests are what `submit_request` and the staff actions would have stored (the same
routing, areas, due dates, contacts, tracking numbers and history events), written in bulk
(`servicerequests.bulk`): a demo starts in seconds. Given the same seed and the same day, the
activity is the same (`now` included).
"""

from __future__ import annotations

import random
import re
from bisect import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from string import capwords
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from city311.catalog.calendar import Calendar
from city311.catalog.models import ServiceType
from city311.cities import profile
from city311.geo.boundaries import AreaIndex, area_index
from city311.geo.locate import areas_snapshot
from city311.geo.models import AddressPoint
from city311.lib.batches import paced
from city311.servicerequests import stream
from city311.servicerequests.bulk import Filing, Row, write_filings
from city311.servicerequests.imports import HistoricalRecord
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.routing import Router
from city311.servicerequests.vocabulary import Channel, Event, Resolution, Status

DAYS = 90
PER_DAY = 40
SEED = 311
# How residents reach a big city's 311: mostly the phone, then the app and the web; texts
# and web chat are new and small (no real city's records name them yet). Every channel of
# the vocabulary but IMPORT, which is the history's (tests/test_demo_activity.py).
CHANNELS = {
    Channel.PHONE: 36,
    Channel.MOBILE_APP: 22,
    Channel.WEB: 22,
    Channel.EMAIL: 6,
    Channel.OPEN311: 6,
    Channel.STAFF: 4,
    Channel.WALK_IN: 2,
    Channel.SMS: 1,
    Channel.WEB_CHAT: 1,
}
# A call taker files these for the resident (the request's history names them).
WITH_A_CALL_TAKER = (Channel.PHONE, Channel.WALK_IN, Channel.WEB_CHAT)
OPEN311_APPS = ["SeeClickFix", "FixMyStreet", "CityWorks Mobile"]
SPANISH = 0.22
# Residents leave their details on most channels; city staff and third-party apps seldom.
CONTACT_SHARE: dict[str, float] = {Channel.STAFF: 0.0, Channel.OPEN311: 0.4}
# Of the requests still open, how many a crew has started.
STARTED = 0.4
# No real record takes longer than this to close in the demo.
LONGEST = timedelta(days=120)
# Nothing is generated in the last minutes: the event stream's consumers starting now (the
# notifications) begin after the newest event older than their settle window.
QUIET = timedelta(minutes=10)
FIRST = ["Ana", "Luis", "Grace", "Tyrone", "Mei", "Carmen", "David", "Fatima", "Kevin", "Rosa"]
LAST = ["Rivera", "Chen", "Williams", "Okafor", "García", "Cohen", "Nguyen", "Patel", "Santos"]
WORDS = {
    "en": [
        "",
        "Been like this for a few days.",
        "Please send someone to look at it.",
        "It is getting worse.",
        "Near the corner, in front of the building.",
    ],
    "es": [
        "",
        "Lleva así varios días.",
        "Por favor, envíen a alguien a revisarlo.",
        "Cada vez está peor.",
        "Cerca de la esquina, frente al edificio.",
    ],
}
CLOSING = {
    Resolution.COMPLETED: [
        "A crew was sent and fixed the problem.",
        "The condition was inspected and corrected.",
        "The work was completed.",
    ],
    Resolution.NO_ACTION: [
        "An inspector visited and found no condition needing action.",
        "The problem was gone when the crew arrived.",
    ],
}


@dataclass
class TypeFigures:
    """What the city's real history says about one type: how often, and how long to close."""

    weight: float
    # Seconds from request to close of the type's real closed records; empty when none.
    durations: list[float]


def figures(records: Iterable[HistoricalRecord] | None = None) -> dict[int, TypeFigures]:
    """Per active, non-emergency type: its share of the city's historical requests and their
    closing times, from `records` or else from the history stored. A type the history never
    saw gets a little of everything and closes in a few days."""
    types = {t.service_code: t for t in ServiceType.objects.filter(active=True)}
    counts: dict[int, int] = defaultdict(int)
    durations: dict[int, list[float]] = defaultdict(list)
    for type_id, requested, closed in _history(records, types):
        counts[type_id] += 1
        if closed is not None:
            durations[type_id].append(min(closed - requested, LONGEST).total_seconds())
    least = max(1, min(counts.values(), default=1) // 2)
    return {
        t.pk: TypeFigures(weight=counts.get(t.pk) or least, durations=sorted(durations[t.pk]))
        for t in types.values()
        if not t.is_emergency
    }


def _history(
    records: Iterable[HistoricalRecord] | None, types: dict[str, ServiceType]
) -> Iterator[tuple[int, datetime, datetime | None]]:
    if records is None:
        stored = ServiceRequest.objects.filter(historical=True).order_by("id")
        yield from stored.values_list("service_type_id", "requested_at", "closed_at")
        return
    for r in records:
        if r.service_code in types:
            yield types[r.service_code].pk, r.requested_at, r.closed_at


def activity(
    *,
    now: datetime | None = None,
    seed: int = SEED,
    days: int = DAYS,
    per_day: int = PER_DAY,
    history: Iterable[HistoricalRecord] | None = None,
) -> list[Filing]:
    """The requests of the `days` days before `now` and of its day until then, shaped by the
    city's `history` (by default the history stored)."""
    now = now or timezone.now()
    zone = profile.current().zone
    today = timezone.localtime(now, zone).date()
    rng = random.Random(f"{seed}:{today.isoformat()}")
    city = _City.read(now, figures(history))
    filings = []
    for back in range(days, -1, -1):
        day = today - timedelta(days=back)
        weekend = day.weekday() >= 5
        count = round(per_day * (0.7 if weekend else 1.0) * rng.uniform(0.8, 1.2))
        for _ in range(count):
            moment = _moment(rng, day, zone)
            if moment <= now - QUIET:
                filings.append(city.filing(rng, moment))
    return filings


def load_activity(
    *,
    now: datetime | None = None,
    seed: int = SEED,
    history: Iterable[HistoricalRecord] | None = None,
    batch: int = 2000,
) -> int:
    """Write the activity; returns how many requests."""
    filings = activity(now=now, seed=seed, history=history)
    for at in paced(range(0, len(filings), batch)):
        write_filings(filings[at : at + batch])
    stream.wake_on_commit()
    return len(filings)


def has_live_requests() -> bool:
    """A city already in use needs no invented life."""
    return ServiceRequest.objects.live().exists()


def _moment(rng: random.Random, day: date, zone: Any) -> datetime:
    # Most requests come in the day and evening, few at night.
    hour = min(23, max(0, round(rng.gauss(13, 4.5))))
    at = time(hour, rng.randrange(60), rng.randrange(60))
    return datetime.combine(day, at, tzinfo=zone)


class _City:
    """What a filing is made of, read once: types, places, routing, calendar and people."""

    @classmethod
    def read(cls, now: datetime, figures: dict[int, TypeFigures]) -> _City:
        city = cls()
        city.now = now
        city.figures = figures
        city.types = ServiceType.objects.in_bulk(list(city.figures))
        city.type_ids = list(city.figures)
        city.cumulative = list(accumulate(city.figures[t].weight for t in city.type_ids))
        city.places = list(
            AddressPoint.objects.order_by("id").values_list(
                "number", "street", "city", "postcode", "lat", "long", "source_id"
            )
        )
        if not city.places:
            raise ValueError("The city has no address points to place its activity at.")
        city.areas = area_index()
        city.router = Router()
        city.calendar = Calendar()
        city.state = (profile.current().states or ("",))[0]
        # The area code of the city's own number from outside ("212-639-9675", "+1 213...").
        digits = re.sub(r"\D", "", profile.current().outside_phone).removeprefix("1")
        city.area_code = digits[:3] if len(digits) == 10 else "555"
        city.staff = _staff_by_department()
        city.call_takers = list(
            User.objects.filter(groups__name="Call taker", is_active=True).order_by("pk")
        )
        city.channels = list(CHANNELS)
        city.channel_weights = list(accumulate(CHANNELS.values()))
        return city

    now: datetime
    figures: dict[int, TypeFigures]
    types: dict[int, ServiceType]
    type_ids: list[int]
    cumulative: list[float]
    places: list[tuple[Any, ...]]
    areas: AreaIndex
    router: Router
    calendar: Calendar
    state: str
    area_code: str
    staff: dict[int, list[User]]
    call_takers: list[User]
    channels: list[str]
    channel_weights: list[int]

    def filing(self, rng: random.Random, requested: datetime) -> Filing:
        type_id = self.type_ids[bisect(self.cumulative, rng.random() * self.cumulative[-1])]
        service_type = self.types[type_id]
        number, street, part, postcode, lat, long, address_id = rng.choice(self.places)
        channel = self.channels[
            bisect(self.channel_weights, rng.random() * self.channel_weights[-1])
        ]
        language = "es" if rng.random() < SPANISH else "en"
        found = self.areas.at(lat, long)
        route = self.router.route(service_type, {a.pk for a in found})
        department = route.department
        # The street as the geocoder shows it: "WEST  187 STREET" -> "West 187 Street".
        head = f"{number} {capwords(' '.join(street.split()).lower())}"
        tail = " ".join(p for p in (self.state, postcode) if p)
        request: Row = {
            "service_type_id": type_id,
            "status": Status.OPEN if department else Status.NEW,
            "description": rng.choice(WORDS[language]),
            "lat": lat,
            "long": long,
            "address_string": ", ".join(p for p in (head, part, tail) if p),
            "address_id": address_id,
            "zipcode": postcode,
            "location_match": "address",
            "location_confidence": 1.0,
            "areas": areas_snapshot(found),
            "channel": channel,
            "application": rng.choice(OPEN311_APPS) if channel == Channel.OPEN311 else "",
            "department_id": department.pk if department else None,
            "urgent": service_type.is_urgent,
            "requested_at": requested,
            "updated_at": requested,
            "due_at": self.calendar.due_at(
                requested, service_type.sla_amount, service_type.sla_unit
            ),
        }
        events = self._first_events(rng, request, route, language)
        contact = self._contact(rng, channel, language)
        if department is not None:
            events += self._work(rng, request, type_id, department.pk)
        request["updated_at"] = events[-1]["at"]
        return Filing(request, events, contact)

    def _first_events(
        self, rng: random.Random, request: Row, route: Any, language: str
    ) -> list[Row]:
        channel = request["channel"]
        taker = None
        if channel in WITH_A_CALL_TAKER and self.call_takers:
            taker = rng.choice(self.call_takers)
        if channel == Channel.OPEN311:
            label = f"{request['application']} (Open311)"
        else:
            label = f"Resident via {Channel(channel).label.lower()}"
        events: list[Row] = [
            {
                "kind": Event.SUBMITTED,
                "at": request["requested_at"],
                "actor_id": taker.pk if taker else None,
                "actor_label": label,
                "public": True,
                "data": {"wants_updates": True},
            }
        ]
        if route.department is not None:
            events.append(
                {
                    "kind": Event.ROUTED,
                    "at": request["requested_at"],
                    "actor_label": "city311",
                    "public": True,
                    "note": route.explain(),
                    "data": route.data(),
                }
            )
        return events

    def _contact(self, rng: random.Random, channel: str, language: str) -> Row | None:
        if rng.random() >= CONTACT_SHARE.get(channel, 0.75):
            return None
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}{rng.randrange(100)}@example.com".lower()
        # A text comes from a number; a caller sometimes gives an address too.
        gives_email = channel != Channel.SMS and (channel != Channel.PHONE or rng.random() < 0.3)
        return {
            "first_name": first,
            "last_name": last,
            "email": email if gives_email else "",
            # 555-0100 to 555-0199 in the city's area code: reserved for fiction, never a line.
            "phone": f"+1{self.area_code}555{rng.randrange(100, 200):04d}"
            if not gives_email
            else "",
            "language": language,
        }

    def _work(self, rng: random.Random, request: Row, type_id: int, department: int) -> list[Row]:
        """What the department did: started, closed with what was done, or nothing yet."""
        requested: datetime = request["requested_at"]
        durations = self.figures[type_id].durations
        if durations:
            took = timedelta(seconds=rng.choice(durations) * rng.uniform(0.8, 1.2))
        else:
            took = timedelta(days=rng.expovariate(1 / 4))
        took = max(took, timedelta(minutes=20))
        crew = self.staff.get(department, [])
        worker = rng.choice(crew) if crew else None
        events: list[Row] = []
        closed = requested + took
        if closed > self.now - QUIET:
            if rng.random() < STARTED:
                started = requested + (self.now - QUIET - requested) * rng.uniform(0.1, 0.9)
                request["status"] = Status.IN_PROGRESS
                events.append(self._event(Event.STARTED, started, worker))
            return events
        resolution = Resolution.COMPLETED if rng.random() < 0.82 else Resolution.NO_ACTION
        note = rng.choice(CLOSING[resolution])
        request.update(
            status=Status.CLOSED,
            resolution=resolution,
            status_notes=note,
            closed_at=closed,
        )
        if took > timedelta(hours=4) and rng.random() < 0.5:
            events.append(self._event(Event.STARTED, requested + took / 3, worker))
        closing = self._event(Event.CLOSED, closed, worker)
        events.append({**closing, "note": note, "data": {"resolution": resolution}})
        return events

    @staticmethod
    def _event(kind: str, at: datetime, worker: User | None) -> Row:
        return {"kind": kind, "at": at, "actor_id": worker.pk if worker else None, "public": True}


def _staff_by_department() -> dict[int, list[User]]:
    staff: dict[int, list[User]] = defaultdict(list)
    users = User.objects.filter(is_active=True, memberships__isnull=False).distinct()
    for user in users.prefetch_related("memberships").order_by("pk"):
        for m in user.memberships.all():
            staff[m.department_id].append(user)
    return staff
