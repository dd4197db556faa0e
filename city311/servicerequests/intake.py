"""The one way in: every channel that files a request calls `preview` and `submit_request`.

The portal, the console, Open311 (and e-mail, texting and the phone tree as they arrive) turn
what a person sent into a `Submission` and hand it here. Checking, locating, routing, the due
date, duplicate offers, photos and double-submit protection are written once, in this module,
so every channel behaves alike (tests/test_intake_contract.py runs the same cases through each).

Historical records are not submissions: `servicerequests.imports` loads them set-wise with the
same validation, mapping and routing rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.contrib.auth.models import User
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model
from django.utils import timezone, translation

from city311.catalog.calendar import due_at
from city311.catalog.models import ServiceType
from city311.geo.locate import Located
from city311.servicerequests import attachments, stream
from city311.servicerequests.actions import Actor
from city311.servicerequests.duplicates import find_duplicates, nearest_duplicate_id
from city311.servicerequests.errors import Problem, SubmissionInvalid
from city311.servicerequests.models import Channel, Contact, RequestEvent, ServiceRequest, Status
from city311.servicerequests.routing import Route, route
from city311.servicerequests.tracking import new_tracking_number
from city311.servicerequests.validation import Checked, Submission, check_submission
from city311.servicerequests.vocabulary import Event
from city311.triage import rules as triage
from city311.triage.rules import NOT_AN_EMERGENCY, Triage

_TRACKING_ATTEMPTS = 8
# "Is it one of these?": how many open requests nearby a channel offers.
OFFERED_DUPLICATES = 5


@dataclass
class Preview:
    """What filing this submission would do, with nothing written.

    `errors` maps each field to everything wrong with it; the rest is filled in as far as it
    could be found, so a half-finished form can still be offered its nearby requests.
    """

    checked: Checked
    # Read first: is the description an emergency? (Channels say "call 911 now" and count it.)
    triage: Triage = NOT_AN_EMERGENCY
    route: Route | None = None
    due_at: datetime | None = None
    duplicates: list[tuple[ServiceRequest, float]] = field(default_factory=list)
    # The request this submission's idempotency key filed already: a second click or a resend
    # is answered with it, and not counted (rate limits) or filed again.
    filed: ServiceRequest | None = None

    @property
    def ok(self) -> bool:
        return self.checked.ok

    @property
    def errors(self) -> dict[str, list[str]]:
        return self.checked.errors

    @property
    def service_type(self) -> ServiceType | None:
        return self.checked.service_type

    @property
    def located(self) -> Located | None:
        return self.checked.located

    def problems_of(self, fields: Sequence[str]) -> list[Problem]:
        """What is wrong with these fields only: a channel asking one thing at a time (the
        portal's steps) checks the step's answer with the whole preview and shows its part."""
        return [p for name in fields for p in self.checked.problems.get(name, [])]


def preview(
    sub: Submission,
    *,
    photos: Sequence[File] = (),
    duplicates: int = OFFERED_DUPLICATES,
    now: datetime | None = None,
    idempotency_key: str = "",
) -> Preview:
    """Read for an emergency, check, locate, route and look for duplicates; write nothing.

    With an `idempotency_key`, `filed` is the request that key filed already, if any.
    """
    found = triage.read(sub.description or "", sub.language) if sub.description else None
    checked = check_submission(sub)
    _check_photos(photos, checked.problems)
    result = Preview(checked, triage=found or NOT_AN_EMERGENCY)
    if idempotency_key:
        result.filed = already_filed(sub, idempotency_key=idempotency_key)
    service_type, located = checked.service_type, checked.located
    if service_type is None:
        return result
    moment = sub.requested_at or now or timezone.now()
    # A place not known within about 50 m routes by the type alone, not by areas it may
    # not be in; nor is it compared with nearby requests.
    exact = located if located is not None and not located.to_verify else None
    result.route = route(service_type, {a.pk for a in exact.areas} if exact else set())
    result.due_at = due_at(moment, service_type.sla_amount, service_type.sla_unit)
    if duplicates and exact and exact.lat is not None and exact.long is not None:
        result.duplicates = duplicate_offers(service_type, exact.lat, exact.long, limit=duplicates)
    return result


def duplicate_offers(
    service_type: ServiceType, lat: float, long: float, *, limit: int = OFFERED_DUPLICATES
) -> list[tuple[ServiceRequest, float]]:
    """ "Is it one of these?": open requests of this kind near the place, nearest first."""
    return find_duplicates(service_type, lat, long, limit=limit)


def _check_photos(photos: Sequence[File], problems: dict[str, list[Problem]]) -> None:
    for upload in photos:
        try:
            attachments.check_upload(upload)
        except attachments.MediaInvalid as e:
            problems.setdefault("media", []).append(_photo_problem(e))


def _photo_problem(e: attachments.MediaInvalid) -> Problem:
    # One code for every media problem (channels answer by it); the message says which.
    # Worded where it is shown: Spanish on a Spanish page.
    return Problem("not_a_photo", e.template, e.params)


def submit_request(
    sub: Submission,
    *,
    photos: Sequence[File] = (),
    idempotency_key: str = "",
    by: Actor = None,
    previewed: Preview | None = None,
) -> ServiceRequest:
    """File a request from any channel, with its photos, in one transaction.

    Raises SubmissionInvalid listing every problem. A repeated `idempotency_key` (scoped by
    the channel and application) returns the request the first use filed, even while that
    first filing is still committing in another process. `previewed` is this submission's own
    preview, when the channel just made one to offer duplicates: it is not worked out twice.
    """
    earlier = (previewed.filed if previewed else None) or already_filed(
        sub, idempotency_key=idempotency_key
    )
    if earlier is not None:
        return earlier
    key = _key(sub, idempotency_key)
    found = previewed or preview(sub, photos=photos, duplicates=0)
    if not found.ok:
        raise SubmissionInvalid(found.checked.problems)
    try:
        # Decoded and re-encoded before the transaction: only what Pillow could read is kept,
        # without its metadata, and the slow part holds no lock.
        cleaned = attachments.clean_photos(photos)
    except attachments.MediaInvalid as e:
        # A photo that passed the preview's check of type and size but cannot be decoded:
        # nothing was kept, and the sender is told which field to correct.
        raise SubmissionInvalid({"media": [_photo_problem(e)]}) from None
    for _ in range(_TRACKING_ATTEMPTS):
        sr = _build(sub, found, key)
        sr.tracking_number = new_tracking_number()
        contact = _contact(sub, found.checked.phone)
        events = _first_events(sr, sub, found.route, by=by)
        try:
            # No savepoint around the insert: a collision of tracking numbers (rare) or of
            # idempotency keys retries the whole transaction instead, one round trip less.
            with attachments.unless_committed() as written, _filing_transaction(cleaned):
                first_event = _insert(sr, contact, events)
                for photo in cleaned:
                    attachments.attach(sr, photo, written=written)
                # One wake-up of the event stream for the filing, as every action's events get.
                stream.wake_on_commit(first_event)
            return sr
        except IntegrityError:
            # A unique key waited for the other filing to commit; it is visible now.
            earlier = ServiceRequest.objects.filter(idempotency_key=key).first() if key else None
            if earlier is not None:
                return earlier
            if not ServiceRequest.objects.filter(tracking_number=sr.tracking_number).exists():
                raise
    raise RuntimeError("Could not draw an unused tracking number; the number space is full.")


def already_filed(sub: Submission, *, idempotency_key: str) -> ServiceRequest | None:
    """The request this submission's key filed already, if any."""
    key = _key(sub, idempotency_key)
    return ServiceRequest.objects.filter(idempotency_key=key).first() if key else None


def _key(sub: Submission, idempotency_key: str) -> str:
    if not idempotency_key:
        return ""
    scope = f"{sub.channel}\x1f{sub.application}\x1f{idempotency_key}"
    return hashlib.sha256(scope.encode()).hexdigest()


def _build(sub: Submission, found: Preview, key: str) -> ServiceRequest:
    checked = found.checked
    service_type = checked.service_type
    assert service_type is not None and found.route is not None
    requested_at = sub.requested_at or timezone.now()
    department = found.route.department
    located = checked.located
    lat, long = (located.lat, located.long) if located else (None, None)
    return ServiceRequest(
        service_type=service_type,
        status=Status.OPEN if department else Status.NEW,
        description=(sub.description or "").strip(),
        answers=checked.answers,
        lat=lat,
        long=long,
        address_string=(located.address if located else "")[:255],
        address_id=located.address_id if located else "",
        location_match=located.match if located else "",
        location_confidence=located.confidence if located else None,
        location_to_verify=bool(located and located.to_verify),
        areas=located.areas_snapshot() if located and not located.to_verify else {},
        possible_duplicate_of_id=_possible_duplicate(found),
        zipcode=((sub.zipcode or "").strip() or (located.postcode if located else ""))[:10],
        media_url=sub.media_url or "",
        channel=sub.channel,
        application=sub.application,
        external_id=sub.external_id,
        idempotency_key=key,
        department=department,
        team=found.route.team,
        urgent=service_type.is_urgent,
        requested_at=requested_at,
        updated_at=requested_at,
        due_at=due_at(requested_at, service_type.sla_amount, service_type.sla_unit),
        # The escalation sweep looks at it at once and works out when its first level is.
        escalation_due_at=(
            requested_at
            if service_type.sla_amount is not None and sub.channel != Channel.IMPORT
            else None
        ),
    )


def _possible_duplicate(found: Preview) -> int | None:
    """The nearest open request of the kind, flagged for staff to merge (its id only)."""
    if found.duplicates:
        return found.duplicates[0][0].pk
    located, service_type = found.located, found.service_type
    if located is None or located.lat is None or located.long is None or service_type is None:
        return None
    if located.to_verify:
        return None
    return nearest_duplicate_id(service_type, located.lat, located.long)


def _contact(sub: Submission, phone: str) -> Contact | None:
    if not any((sub.first_name, sub.last_name, sub.email, phone)):
        return None
    return Contact(
        first_name=sub.first_name.strip(),
        last_name=sub.last_name.strip(),
        email=sub.email.strip(),
        phone=phone,
        language=sub.language,
    )


def _first_events(
    sr: ServiceRequest, sub: Submission, routed: Route | None, *, by: Actor
) -> list[RequestEvent]:
    """The first history events: received, and routed when it was."""
    kind = Event.IMPORTED if sub.channel == Channel.IMPORT else Event.SUBMITTED
    rows = [
        RequestEvent(
            kind=kind,
            at=sr.requested_at,
            actor=by if isinstance(by, User) else None,
            actor_label=_channel_label(sub),
            public=True,
            data={"wants_updates": sub.wants_updates},
        )
    ]
    if sr.department is not None and routed is not None:
        rows.append(
            RequestEvent(
                kind=Event.ROUTED,
                at=sr.requested_at,
                actor_label="city311",
                public=True,
                note=routed.explain(),
                data=routed.data(),
            )
        )
    return rows


def _filing_transaction(photos: Sequence[object]) -> AbstractContextManager[object]:
    """A transaction around the filing, unless one statement writes all of it.

    On PostgreSQL a filing without photos is written by one statement (`_insert`), atomic by
    itself: outside any transaction it needs no BEGIN and COMMIT, two round trips of the five
    a filing would otherwise take. Inside one (a caller's, or a test's), a savepoint still
    lets a collision retry without spoiling the caller's transaction.
    """
    connection = transaction.get_connection()
    if not photos and _in_one_statement(connection) and not connection.in_atomic_block:
        return nullcontext()
    return transaction.atomic()


def _in_one_statement(connection: BaseDatabaseWrapper) -> bool:
    # SQLite has no INSERT inside WITH.
    return connection.vendor == "postgresql"


def _insert(sr: ServiceRequest, contact: Contact | None, events: list[RequestEvent]) -> int:
    """Write the request, its contact and its first events; return the first event's id."""
    connection = transaction.get_connection()
    if not _in_one_statement(connection):
        sr.save(force_insert=True)
        for row in (contact, *events):
            if row is not None:
                row.request = sr
        if contact is not None:
            contact.save(force_insert=True)
        RequestEvent.objects.bulk_create(events)
        return events[0].pk
    # Each insert is a data-modifying WITH; the later ones take the new request's id from
    # the first. The statement's text is made once per shape and kept (`_insert_sql`).
    parts = [("sr", *_insert_sql(connection, [sr], returning=True))]
    if contact is not None:
        parts.append(("contact", *_insert_sql(connection, [contact], returning=False)))
    parts.append(("ev", *_insert_sql(connection, events, returning=True)))
    sql = "WITH " + ", ".join(f"{name} AS ({part})" for name, part, _ in parts)
    sql += " SELECT (SELECT id FROM sr), (SELECT min(id) FROM ev)"
    with connection.cursor() as cursor:
        cursor.execute(sql, [p for _, _, part_params in parts for p in part_params])
        sr.pk, first_event = cursor.fetchone()
    sr._state.adding, sr._state.db = False, connection.alias
    for row in (contact, *events):
        if row is not None:
            row._state.adding, row._state.db = False, connection.alias
            row.request = sr
    return int(first_event)


def _insert_sql(
    connection: BaseDatabaseWrapper, rows: Sequence[Model], *, returning: bool
) -> tuple[str, list[object]]:
    """An INSERT of `rows` (all of one model) and its parameters, values prepared as the ORM
    prepares them. A `request` column takes the id of the request inserted as "sr"."""
    model = type(rows[0])
    fields = _insert_fields(model)
    params = [
        field.get_db_prep_save(field.pre_save(row, True), connection)
        for row in rows
        for field in fields
        if field.attname != "request_id"
    ]
    return _insert_text(model, len(rows), returning), params


def _insert_fields(model: type[Model]) -> list[Field[Any, Any]]:
    meta = model._meta
    return [f for f in meta.local_concrete_fields if f is not meta.auto_field]


@cache
def _insert_text(model: type[Model], count: int, returning: bool) -> str:
    def q(name: str) -> str:  # standard SQL quoting, as PostgreSQL's backend does it
        return '"' + name.replace('"', '""') + '"'

    fields = _insert_fields(model)
    columns = ", ".join(q(f.column) for f in fields)
    one = (
        "("
        + ", ".join("(SELECT id FROM sr)" if f.attname == "request_id" else "%s" for f in fields)
        + ")"
    )
    sql = f"INSERT INTO {q(model._meta.db_table)} ({columns}) VALUES {', '.join([one] * count)}"
    return sql + (f" RETURNING {q(model._meta.pk.column)}" if returning else "")


def _channel_label(sub: Submission) -> str:
    if sub.channel == Channel.OPEN311:
        return f"{sub.application or 'Open311 app'} (Open311)"
    if sub.channel == Channel.IMPORT:
        return f"Imported from {sub.application or 'an earlier system'}"
    # Stored history, not a label shown: in English whatever the resident's language.
    with translation.override("en"):
        return f"Resident via {Channel(sub.channel).label.lower()}"
