"""Reads for the facility and event pages: filtered lists, nearest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet

from city311.catalog.cache import attach_texts
from city311.facilities import hours
from city311.facilities.models import Event, Facility, HoursException
from city311.lib.distance import metres

MAX_QUERY = 200


def facilities() -> QuerySet[Facility]:
    """Active facilities with everything their hours and texts need, in two queries more."""
    return Facility.objects.filter(active=True).prefetch_related(
        "rules",
        Prefetch("exceptions", HoursException.objects.prefetch_related("translations")),
        "translations",
    )


def _with_texts(rows: list[Facility]) -> list[Facility]:
    """The facilities and their exceptions with their translations, one query each."""
    attach_texts(rows)
    attach_texts([x for f in rows for x in f.exceptions.all()])
    return rows


@dataclass(frozen=True)
class Listed:
    facility: Facility
    status: hours.Status
    distance_m: float | None


def listed(
    *,
    kind: str = "",
    q: str = "",
    near: tuple[float, float] | None = None,
    at: datetime | None = None,
    limit: int | None = None,
) -> list[Listed]:
    """Facilities of `kind` whose name has `q`, nearest to `near` first, with their status."""
    # The texts are attached below rather than prefetched: a list page shows every facility.
    rows = Facility.objects.filter(active=True).prefetch_related("rules", "exceptions")
    if kind:
        rows = rows.filter(kind=kind)
    if q:
        rows = rows.filter(Q(name__icontains=q) | Q(translations__text__icontains=q)).distinct()
    city_days = hours.own_days()
    found = []
    for f in _with_texts(list(rows)):
        distance = None
        if near is not None and f.lat is not None and f.long is not None:
            distance = metres(near[0], near[1], f.lat, f.long)
        schedule = hours.schedule_for(f, city_days=city_days)
        found.append(Listed(f, hours.status(f, at, schedule), distance))
    if near is not None:
        found.sort(key=lambda x: (x.distance_m is None, x.distance_m or 0.0))
    return found[:limit] if limit else found


def events() -> QuerySet[Event]:
    """Active events with their facility and texts (one event's page, the feeds)."""
    return (
        Event.objects.filter(active=True)
        .select_related("facility")
        .prefetch_related("translations", "facility__translations")
    )


def matching_events(*, category: str = "", q: str = "", facility: str = "") -> list[Event]:
    """Active events of the list page, with their facilities' and their own texts attached."""
    rows = Event.objects.filter(active=True).select_related("facility")
    if category:
        rows = rows.filter(category=category)
    if facility:
        rows = rows.filter(facility__slug=facility)
    if q:
        rows = rows.filter(
            Q(title__icontains=q) | Q(description__icontains=q) | Q(translations__text__icontains=q)
        ).distinct()
    found = attach_texts(list(rows))
    attach_texts(list({e.facility_id: e.facility for e in found if e.facility}.values()))
    return found
