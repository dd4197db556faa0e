"""Bringing in historical requests from an earlier system, in bulk.

Historical records are history, not new submissions: they are loaded set-wise, a batch at a
time, rather than through `intake.submit_request` one by one. They share its rules all the
same: the same checks of place and outcome (`validation.check_point`), the same areas snapshot,
the same routing rules (`routing.Router`, read once) and the same due dates. Imported requests
keep their original dates and outcome, get city311 tracking numbers, are marked `historical`
(history, never live work: out of department queues and the overdue sweep, even when the earlier
system left them open), and carry history events marked as imported: the event stream's
consumers catch up from them (a report rollup rebuilds), and notifications never treat them as
news. The rows are written by `bulk.write_filings`, a batch a statement per table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from city311.catalog.calendar import Calendar
from city311.catalog.models import ServiceType
from city311.geo.boundaries import Area, AreaIndex, area_index
from city311.geo.locate import areas_snapshot
from city311.lib.batches import paced
from city311.servicerequests import stream
from city311.servicerequests.bulk import Filing, Row, write_filings
from city311.servicerequests.models import Channel, Resolution, Status
from city311.servicerequests.routing import Router
from city311.servicerequests.validation import MAX_DESCRIPTION, Problems, check_point
from city311.servicerequests.vocabulary import Event

# Read once: each enum's `values` builds its list anew.
RESOLUTIONS = frozenset(Resolution.values)
CHANNELS = frozenset(Channel.values)


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
    # Districts named by the earlier system, {boundary kind: area name}, for a record with no
    # point (a file that gives only the borough): routed and counted in them. Ignored when the
    # record has a point (the point says where), and a name the city's boundaries lack.
    districts: dict[str, str] = field(default_factory=dict)


class ImportInvalid(ValueError):
    """Records that cannot be imported, each named by its number in the input and its field."""

    def __init__(self, source: str, problems: list[tuple[int, str, str]], imported: int) -> None:
        self.problems, self.imported = problems, imported
        shown = "; ".join(f"record {n}, {field}: {text}" for n, field, text in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(
            f"{source}: {len(problems)} problems: {shown}{more}. The {imported} records before "
            f"record {imported + 1} were imported; fix these and import the rest."
        )


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
    """Create requests for `records`; returns how many.

    Each batch is checked whole before it is written; a batch with problems raises ImportInvalid
    naming every one (batches before it stay imported, so a corrected file can resume after).
    """
    types = {t.service_code: t for t in ServiceType.objects.select_related("department")}
    calendar = Calendar()
    areas = area_index()
    named = {(a.kind, a.name.casefold()): a for a in areas.areas}
    router = Router()
    total = 0
    for batch in paced(_batches(records, batch_size)):
        problems = [
            (total + i + 1, field, message)
            for i, r in enumerate(batch)
            for field, message in _problems(r, types)
        ]
        if problems:
            raise ImportInvalid(source, problems, total)
        rows = [
            _request(r, types[r.service_code], calendar, areas, named, router, source)
            for r in batch
        ]
        write_filings([Filing(sr, _events(sr, r)) for sr, r in zip(rows, batch, strict=True)])
        total += len(rows)
        if progress:
            progress(len(rows))
    # The stream's consumers catch up from the imported events (a rollup rebuilds), woken once
    # for the whole import; notifications skip imported requests.
    stream.wake_on_commit()
    return total


def _problems(r: HistoricalRecord, types: dict[str, ServiceType]) -> list[tuple[str, str]]:
    problems = Problems()
    if r.service_code not in types:
        problems.add("service_code", f"unknown service code {r.service_code!r}", "unknown_service")
    check_point(r.lat, r.long, problems)
    if r.closed_at is not None:
        if r.resolution not in RESOLUTIONS:
            problems.add("resolution", f"{r.resolution!r} is not one of {Resolution.values}")
        if r.closed_at < r.requested_at:
            problems.add("closed_at", "closed before it was requested")
    if r.channel not in CHANNELS:
        problems.add("channel", f"{r.channel!r} is not one of {Channel.values}")
    return [(field, str(p)) for field, found in problems.errors.items() for p in found]


def _request(
    r: HistoricalRecord,
    service_type: ServiceType,
    calendar: Calendar,
    areas: AreaIndex,
    named: dict[tuple[str, str], Area],
    router: Router,
    source: str,
) -> Row:
    closed = r.closed_at is not None
    if r.lat is not None and r.long is not None:
        found = areas.at(r.lat, r.long)
    else:
        found = [
            a for kind, name in r.districts.items() if (a := named.get((kind, name.casefold())))
        ]
    # Routed by the city's rules as a new request would be, not only to the type's default.
    department = router.route(service_type, {a.pk for a in found}).department
    return {
        "service_type_id": service_type.pk,
        "status": Status.CLOSED if closed else Status.OPEN,
        "resolution": r.resolution if closed else "",
        "status_notes": r.resolution_note if closed else "",
        "description": r.description[:MAX_DESCRIPTION],
        "lat": r.lat,
        "long": r.long,
        "address_string": r.address_string[:255],
        "areas": areas_snapshot(found),
        "zipcode": r.zipcode[:10],
        "channel": r.channel,
        "application": source[:120],
        "external_id": r.external_id[:60],
        "department_id": department.pk if department else None,
        "urgent": service_type.is_urgent,
        "requested_at": r.requested_at,
        "updated_at": r.closed_at or r.requested_at,
        "closed_at": r.closed_at,
        "due_at": calendar.due_at(r.requested_at, service_type.sla_amount, service_type.sla_unit),
        "historical": True,
    }


def _events(sr: Row, r: HistoricalRecord) -> list[Row]:
    label = f"Imported from {sr['application']}"
    out = [
        {
            "kind": Event.IMPORTED,
            "at": r.requested_at,
            "actor_label": label,
            "public": True,
            "data": {"external_id": r.external_id},
        }
    ]
    if r.closed_at is not None:
        out.append(
            {
                "kind": Event.CLOSED,
                "at": r.closed_at,
                "actor_label": label,
                "public": True,
                "note": sr["status_notes"],
                "data": {"resolution": sr["resolution"], "imported": True},
            }
        )
    return out
