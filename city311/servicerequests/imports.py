"""Bringing in historical requests from an earlier system, in bulk.

Imported requests keep their original dates and outcome, get city311 tracking numbers, and
carry history events marked as imported, so nothing downstream (notifications) treats them as new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from django.db import IntegrityError, transaction

from city311.catalog.calendar import Calendar
from city311.catalog.models import ServiceType
from city311.geo.boundaries import AreaIndex, area_index
from city311.servicerequests import events
from city311.servicerequests.models import (
    Channel,
    RequestEvent,
    Resolution,
    ServiceRequest,
    Status,
)
from city311.servicerequests.tracking import new_tracking_number


@dataclass
class HistoricalRecord:
    service_code: str
    requested_at: datetime
    external_id: str = ""
    description: str = ""
    lat: float | None = None
    long: float | None = None
    address_string: str = ""
    zipcode: str = ""
    closed_at: datetime | None = None
    resolution: str = Resolution.COMPLETED
    resolution_note: str = ""
    # The channel the resident used in the earlier system, when known.
    channel: str = Channel.IMPORT


def _batches(items: Iterable[HistoricalRecord], size: int) -> Iterator[list[HistoricalRecord]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def import_history(
    records: Iterable[HistoricalRecord],
    *,
    source: str,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Create requests for `records`; returns how many. Unknown service codes are an error."""
    types = {t.service_code: t for t in ServiceType.objects.select_related("department")}
    calendar = Calendar()
    areas = area_index()
    total = 0
    for batch in _batches(records, batch_size):
        unknown = {r.service_code for r in batch} - types.keys()
        if unknown:
            raise ValueError(f"Unknown service codes in {source}: {sorted(unknown)}")
        rows = [_request(r, types[r.service_code], calendar, areas, source) for r in batch]
        _insert_batch(rows, batch)
        total += len(rows)
        if progress:
            progress(len(rows))
    return total


def _request(
    r: HistoricalRecord,
    service_type: ServiceType,
    calendar: Calendar,
    areas: AreaIndex,
    source: str,
) -> ServiceRequest:
    closed = r.closed_at is not None
    snapshot: dict[str, dict[str, str]] = {}
    if r.lat is not None and r.long is not None:
        for area in areas.at(r.lat, r.long):
            snapshot.setdefault(area.kind, {"code": area.code, "name": area.name})
    return ServiceRequest(
        service_type=service_type,
        status=Status.CLOSED if closed else Status.OPEN,
        resolution=r.resolution if closed else "",
        status_notes=r.resolution_note if closed else "",
        description=r.description[:4000],
        lat=r.lat,
        long=r.long,
        address_string=r.address_string[:255],
        areas=snapshot,
        zipcode=r.zipcode[:10],
        channel=r.channel,
        application=source[:120],
        external_id=r.external_id[:60],
        department=service_type.department,
        urgent=service_type.is_urgent,
        requested_at=r.requested_at,
        updated_at=r.closed_at or r.requested_at,
        closed_at=r.closed_at,
        due_at=calendar.due_at(r.requested_at, service_type.sla_amount, service_type.sla_unit),
    )


def _insert_batch(rows: list[ServiceRequest], records: list[HistoricalRecord]) -> None:
    for _ in range(5):
        _draw_numbers(rows)
        try:
            with transaction.atomic():
                created = ServiceRequest.objects.bulk_create(rows)
                RequestEvent.objects.bulk_create(_events(created, records))
            return
        except IntegrityError:
            # Another process took one of the drawn numbers in between: draw again.
            for row in rows:
                row.pk = None
    raise RuntimeError("Could not draw unused tracking numbers for an import batch.")


def _draw_numbers(rows: list[ServiceRequest]) -> None:
    numbers = {new_tracking_number() for _ in range(len(rows) * 2)}
    taken = set(
        ServiceRequest.objects.filter(tracking_number__in=numbers).values_list(
            "tracking_number", flat=True
        )
    )
    free = iter(numbers - taken)
    for row in rows:
        row.tracking_number = next(free)


def _events(created: list[ServiceRequest], records: list[HistoricalRecord]) -> list[RequestEvent]:
    out = []
    for sr, r in zip(created, records, strict=True):
        label = f"Imported from {sr.application}"
        out.append(
            RequestEvent(
                request=sr,
                kind=events.IMPORTED,
                at=r.requested_at,
                actor_label=label,
                public=True,
                data={"external_id": r.external_id},
            )
        )
        if r.closed_at is not None:
            out.append(
                RequestEvent(
                    request=sr,
                    kind=events.CLOSED,
                    at=r.closed_at,
                    actor_label=label,
                    public=True,
                    note=sr.status_notes,
                    data={"resolution": sr.resolution, "imported": True},
                )
            )
    return out
