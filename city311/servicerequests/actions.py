"""Every change to a service request goes through one of these functions.

Each checks its precondition and raises a RequestError a person can read, changes the row,
saves only the changed fields, writes the RequestEvent in the same transaction, and leaves
side effects (notifications) to readers of those events after commit. A new request comes in
through `city311.servicerequests.intake.submit_request`, whatever the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from city311.catalog.calendar import Calendar, due_at
from city311.catalog.models import Department, ServiceType
from city311.geo.locate import Located
from city311.lib.text import unreadable_character
from city311.servicerequests import attachments, sla, stream
from city311.servicerequests import vocabulary as words
from city311.servicerequests.errors import RequestError, Text
from city311.servicerequests.models import (
    Channel,
    Escalation,
    RequestEvent,
    Resolution,
    ServiceRequest,
    Status,
    Team,
    WorkOrder,
    WorkOrderStatus,
)
from city311.servicerequests.routing import team_after_transfer
from city311.servicerequests.validation import MAX_DESCRIPTION
from city311.servicerequests.vocabulary import Escalate, Event, Pause, Words

Actor = User | AnonymousUser | None
log = logging.getLogger(__name__)
# The longest note, reason or comment anyone writes on a request (a public one is sent to
# every follower), whichever form or channel it comes from.
MAX_NOTE = 4000


def check_note(text: str, *, limit: int = MAX_NOTE) -> None:
    """RequestError when a note cannot be kept: too long, or with a control character."""
    if len(text) > limit:
        raise RequestError(
            _("The note is too long: use at most %(limit)s characters (this has %(n)s)."),
            code="too_long",
            limit=f"{limit:,}",
            n=f"{len(text):,}",
        )
    found = unreadable_character(text)
    if found:
        raise RequestError(
            _("The note contains a control character (%(character)s): remove it."),
            code="bad_character",
            character=found,
        )


def _record(
    sr: ServiceRequest,
    kind: str,
    *,
    by: Actor,
    public: bool,
    note: str = "",
    label: str = "",
    data: dict[str, Any] | None = None,
    at: Any = None,
    limit: int = MAX_NOTE,
    said: Words | list[Words] | None = None,
) -> RequestEvent:
    # city311's own words (`said`) are kept to be worded for each reader (vocabulary.said);
    # the note holds them in English.
    if said is not None:
        note = note or words.english(said)
        data = {**(data or {}), "words": said}
    # Every note of every action is checked here, once; the caller's transaction rolls back.
    # (limit=0: the caller checked it against its own limit.)
    if limit:
        check_note(note, limit=limit)
    event = RequestEvent.objects.create(
        request=sr,
        kind=kind,
        at=at or timezone.now(),
        actor=by if isinstance(by, User) else None,
        actor_label=label,
        public=public,
        note=note,
        data=data or {},
    )
    # One wake-up of the event stream per transaction, after commit (stream.py).
    stream.wake_on_commit(event.pk)
    return event


def _locked(sr: ServiceRequest) -> ServiceRequest:
    # Two staff members may act on one request at the same moment. The row lock makes the second
    # wait for the first to commit and then check its precondition against the new state, so no
    # update is lost and none is applied twice. Callers are inside transaction.atomic().
    return (
        # of=self: lock the request row only; PostgreSQL cannot lock the nullable side of the
        # department join, and the catalog rows need no lock.
        ServiceRequest.objects.select_for_update(of=("self",))
        .select_related("service_type", "department")
        .get(pk=sr.pk)
    )


def _not_closed(sr: ServiceRequest, doing: Text) -> None:
    if sr.is_closed:
        raise RequestError(
            _("Request %(number)s is closed: reopen it before %(doing)s."),
            code="closed",
            number=sr.tracking_number,
            doing=doing,
        )


def _said(text: str, required: Text) -> str:
    """`text` without the white space around it; a RequestError saying `required` when that
    leaves nothing (a reason, a note, a result a person must write)."""
    text = text.strip()
    if not text:
        raise RequestError(required, code="required")
    return text


def _name(person: Any) -> str:
    return str(person.get_full_name() or person.get_username())


def _works_in_department(person: Any, sr: ServiceRequest) -> bool:
    return bool(
        isinstance(person, User)
        and person.is_active
        and sr.department_id is not None
        and person.memberships.filter(department_id=sr.department_id).exists()
    )


@transaction.atomic
def start_request(sr: ServiceRequest, *, by: Actor, note: str = "") -> ServiceRequest:
    """Work starts, and the one who starts it takes it (becomes its assignee) when they work
    in its department: "Start" means "I have it"."""
    sr = _locked(sr)
    _not_closed(sr, _("starting work"))
    if sr.status == Status.IN_PROGRESS:
        raise RequestError(
            _("Request %(number)s is already in progress."),
            code="already_started",
            number=sr.tracking_number,
        )
    sr.status = Status.IN_PROGRESS
    sr.updated_at = timezone.now()
    fields = ["status", "updated_at"]
    data: dict[str, Any] = {}
    if _works_in_department(by, sr) and sr.assignee_id != getattr(by, "pk", None):
        sr.assignee = by  # type: ignore[assignment]
        fields.append("assignee")
        data["assignee"] = sr.assignee_id
    sr.save(update_fields=fields)
    _record(sr, Event.STARTED, by=by, public=True, note=note.strip(), data=data)
    return sr


@transaction.atomic
def assign_request(sr: ServiceRequest, *, to: Any, by: Actor) -> ServiceRequest:
    """Give the request to one staff member of its department, or to nobody (to=None)."""
    sr = _locked(sr)
    _not_closed(sr, _("assigning it"))
    if to is not None and not to.memberships.filter(department_id=sr.department_id).exists():
        raise RequestError(
            _(
                "%(person)s is not in %(department)s: transfer the request first, or choose "
                "someone from that department."
            ),
            code="not_in_department",
            person=to.get_full_name() or to.get_username(),
            department=str(sr.department),
        )
    if to == sr.assignee:
        raise RequestError(_("The request is already assigned to them."), code="unchanged")
    sr.assignee = to
    sr.updated_at = timezone.now()
    sr.save(update_fields=["assignee", "updated_at"])
    _record(
        sr,
        Event.ASSIGNED,
        by=by,
        public=False,
        said=words.said(gettext_noop("Assigned to %(name)s."), name=_name(to))
        if to
        else words.said(gettext_noop("Assigned to nobody.")),
        data={"assignee": to.pk if to else None},
    )
    return sr


@transaction.atomic
def assign_team(sr: ServiceRequest, *, team: Team | None, by: Actor) -> ServiceRequest:
    """Give the request to a team (crew) of its department, or to no team (team=None).

    The assignee stays when they are in the new team (or there is no team), and is cleared
    otherwise: the request goes to the crew's list, not to someone outside it.
    """
    sr = _locked(sr)
    _not_closed(sr, _("assigning it"))
    if team is not None and team.department_id != sr.department_id:
        raise RequestError(
            _(
                "Team %(team)s is not in %(department)s: transfer the request first, or "
                "choose one of that department's teams."
            ),
            code="not_in_department",
            team=team.name,
            department=str(sr.department),
        )
    if (team.pk if team else None) == sr.team_id:
        raise RequestError(_("The request is already with that team."), code="unchanged")
    sr.team = team
    sr.updated_at = timezone.now()
    fields = ["team", "updated_at"]
    if team is not None and sr.assignee_id and not team.members.filter(pk=sr.assignee_id).exists():
        sr.assignee = None
        fields.append("assignee")
    sr.save(update_fields=fields)
    _record(
        sr,
        Event.ASSIGNED,
        by=by,
        public=False,
        said=words.said(gettext_noop("Given to team %(team)s."), team=team.name)
        if team
        else words.said(gettext_noop("Taken off its team.")),
        data={"team": team.slug if team else None, "assignee": sr.assignee_id},
    )
    return sr


@transaction.atomic
def transfer_request(
    sr: ServiceRequest, *, department: Department, by: Actor, reason: str
) -> ServiceRequest:
    sr = _locked(sr)
    _not_closed(sr, _("transferring it"))
    if department.pk == sr.department_id:
        raise RequestError(
            _("The request is already with %(department)s."),
            code="unchanged",
            department=department.name,
        )
    reason = _said(reason, _("Say why the request is transferred, so the next team knows."))
    check_note(reason)
    previous = sr.department
    sr.department = department
    sr.assignee = None
    # The new department's assignment rules choose its team, as at filing.
    sr.team = team_after_transfer(sr, department)
    if sr.status == Status.NEW:
        sr.status = Status.OPEN
    sr.updated_at = timezone.now()
    sr.save(update_fields=["department", "assignee", "team", "status", "updated_at"])
    _record(
        sr,
        Event.TRANSFERRED,
        by=by,
        public=True,
        said=words.said(
            gettext_noop("Now handled by %(department)s."), department=words.department(department)
        ),
        data={
            "from": previous.slug if previous else None,
            "to": department.slug,
            "team": sr.team.slug if sr.team else None,
            "reason": reason,
        },
    )
    return sr


@transaction.atomic
def reclassify_request(
    sr: ServiceRequest, *, service_type: ServiceType, by: Actor, reason: str
) -> ServiceRequest:
    """File the request under another type: routed again, due again, marked urgent or not.

    The due date counts from when the resident asked (the promise is theirs), by the new type's
    target. The department changes when the new type's routing says so (its assignee is then
    cleared). The answers to the old type's questions are kept. The classifier learns from it.
    """
    # Imported here: routing reads the catalog snapshot, which imports nothing from here.
    from city311.servicerequests.routing import route

    sr = _locked(sr)
    _not_closed(sr, _("changing its type"))
    if service_type.pk == sr.service_type_id:
        raise RequestError(
            _("The request is already filed as %(type)s."),
            code="unchanged",
            type=service_type.service_name,
        )
    if not service_type.active or service_type.is_emergency:
        raise RequestError(
            _("%(type)s cannot be chosen: choose an active, non-emergency service type."),
            code="invalid",
            type=service_type.service_name,
        )
    reason = _said(
        reason, _("Say why the type changes, so the next team (and the classifier) knows.")
    )
    check_note(reason)
    previous = sr.service_type
    previous_department = sr.department
    routed = route(service_type, _area_ids(sr))
    now = timezone.now()
    sr.service_type = service_type
    sr.urgent = service_type.is_urgent
    sr.due_at = due_at(sr.requested_at, service_type.sla_amount, service_type.sla_unit)
    sr.overdue_noted_at = None
    fields = ["service_type", "urgent", "due_at", "overdue_noted_at", "updated_at"]
    if routed.department is not None and routed.department.pk != sr.department_id:
        sr.department = routed.department
        sr.assignee = None
        if sr.status == Status.NEW:
            sr.status = Status.OPEN
        fields += ["department", "assignee", "status"]
    sr.updated_at = now
    sr.save(update_fields=fields)
    moved = sr.department_id != (previous_department.pk if previous_department else None)
    _record(
        sr,
        Event.RECLASSIFIED,
        by=by,
        public=True,
        said=words.said(
            gettext_noop("Now filed as %(type)s. Handled by %(department)s."),
            type=words.service_type(service_type),
            department=words.department(sr.department),
        )
        if moved and sr.department
        else words.said(
            gettext_noop("Now filed as %(type)s."), type=words.service_type(service_type)
        ),
        data={
            "from": previous.service_code,
            "to": service_type.service_code,
            "reason": reason,
            "department_from": previous_department.slug if previous_department else None,
            "department_to": sr.department.slug if sr.department else None,
            "route": routed.explain(),
            "due_at": sr.due_at.isoformat() if sr.due_at else None,
        },
    )
    return sr


def _area_ids(sr: ServiceRequest) -> set[int]:
    """The boundaries the request was found in (its `areas` snapshot), for routing again."""
    from city311.geo.models import Boundary

    wanted = [(kind, area.get("code")) for kind, area in (sr.areas or {}).items()]
    if not wanted:
        return set()
    rows = Boundary.objects.filter(kind__in=[k for k, _ in wanted]).values_list(
        "pk", "kind", "code"
    )
    return {pk for pk, kind, code in rows if (kind, code) in set(wanted)}


@transaction.atomic
def add_note(sr: ServiceRequest, *, text: str, public: bool, by: Actor) -> ServiceRequest:
    """A note on the request; a public one becomes its latest public word (status_notes)."""
    sr = _locked(sr)
    text = _said(text, _("Write the note before saving it."))
    sr.updated_at = timezone.now()
    fields = ["updated_at"]
    if public:
        sr.status_notes = text
        fields.append("status_notes")
    sr.save(update_fields=fields)
    _record(sr, Event.NOTE, by=by, public=public, note=text)
    return sr


@transaction.atomic
def close_request(
    sr: ServiceRequest,
    *,
    resolution: str,
    note: str,
    by: Actor,
    duplicate_of: ServiceRequest | None = None,
    said: Words | None = None,
    cancel_unfinished: bool = False,
) -> ServiceRequest:
    """Close with a resolution and a public note saying what was done (`said`: city311's own
    words for it, worded for each reader, `note` being their English).

    A request closes when its work is done: with a work order not finished, closing is
    refused, naming them, unless the closer chose to cancel them (`cancel_unfinished`; each
    cancellation is in the history, saying it came with the closing). The caller checks that
    the closer may cancel them (access.can_work_order)."""
    sr = _locked(sr)
    if sr.is_closed:
        raise RequestError(
            _("Request %(number)s was already closed (%(resolution)s)."),
            code="closed",
            number=sr.tracking_number,
            resolution=Resolution(sr.resolution).label.lower() if sr.resolution else "",
        )
    if resolution not in Resolution.values:
        choices = ", ".join(Resolution.values)
        raise RequestError(
            _("Choose how the request was resolved: one of %(choices)s."),
            code="required",
            choices=choices,
        )
    note = _said(note, _("Write a public note saying what was done; the resident will read it."))
    if resolution == Resolution.DUPLICATE:
        duplicate_of = _duplicate_parent(sr, duplicate_of)
    elif duplicate_of is not None:
        raise RequestError(
            _("Only a request closed as a duplicate links to another request."), code="invalid"
        )
    unfinished = unfinished_work_orders(sr)
    if unfinished and not cancel_unfinished:
        raise RequestError(
            _(
                "Request %(number)s still has work not finished: %(orders)s. Each work order "
                "is finished by its crew, or cancelled, before the request closes."
            ),
            code="work_unfinished",
            number=sr.tracking_number,
            orders=work_order_list(unfinished),
        )
    now = timezone.now()
    for order in unfinished:
        _cancel_on_close(sr, order, at=now, by=by)
    sr.status = Status.CLOSED
    sr.resolution = resolution
    sr.status_notes = note
    sr.duplicate_of = duplicate_of
    sr.closed_at = now
    sr.updated_at = now
    # Closed, the clock stops for good: no pause to resume, nothing left to escalate.
    sr.paused, sr.paused_at, sr.escalation_due_at = "", None, None
    sr.save(
        update_fields=[
            "status",
            "resolution",
            "status_notes",
            "duplicate_of",
            "closed_at",
            "updated_at",
            "paused",
            "paused_at",
            "escalation_due_at",
        ]
    )
    # The language the closer typed in (their page's): a resident reading another is told the
    # city's words for the resolution first, and the closer's as theirs (vocabulary).
    data: dict[str, Any] = {"resolution": resolution, "language": translation.get_language()}
    if duplicate_of is not None:
        data["duplicate_of"] = duplicate_of.tracking_number
        _record(
            duplicate_of,
            Event.MERGED,
            by=by,
            public=True,
            said=words.said(
                gettext_noop("Request %(number)s was the same problem and now follows this one."),
                number=sr.tracking_number,
            ),
            data={"duplicate": sr.tracking_number},
        )
    _record(sr, Event.CLOSED, by=by, public=True, note=note, data=data, said=said)
    _tell_duplicates(sr, by=by)
    return sr


def unfinished_work_orders(sr: ServiceRequest) -> list[WorkOrder]:
    """The request's work orders still to do or under way, by number."""
    return list(
        sr.work_orders.exclude(
            status__in=[WorkOrderStatus.DONE, WorkOrderStatus.CANCELLED]
        ).order_by("number")
    )


def work_order_list(orders: list[WorkOrder]) -> str:
    """ "2 (Haul the wood away), 3 (Patch the road)": work orders named in a message."""
    return ", ".join(f"{order.number} ({order.title})" for order in orders)


def _cancel_on_close(sr: ServiceRequest, order: WorkOrder, *, at: Any, by: Actor) -> None:
    said = words.said(
        gettext_noop("Work order %(number)s cancelled when the request was closed."),
        number=order.number,
    )
    order.status = WorkOrderStatus.CANCELLED
    order.result = words.english(said)
    order.done_at = at
    order.save(update_fields=["status", "result", "done_at"])
    _record(
        sr,
        Event.WORK_ORDER_CANCELLED,
        by=by,
        public=False,
        said=said,
        data={"work_order": order.number, "on_close": True},
    )


def _tell_duplicates(parent: ServiceRequest, *, by: Actor) -> None:
    """Merged requests close with their parent: their history (and followers) hear of it."""
    for child in parent.duplicates.filter(status=Status.CLOSED, resolution=Resolution.DUPLICATE):
        _record(
            child,
            Event.PARENT_CLOSED,
            by=by,
            public=True,
            note=parent.status_notes,
            data={"parent": parent.tracking_number, "resolution": parent.resolution},
        )


@transaction.atomic
def merge_request(
    sr: ServiceRequest, *, into: ServiceRequest, by: Actor, note: str = ""
) -> ServiceRequest:
    """Close `sr` as a duplicate of `into`; its followers hear when `into` closes."""
    # Lock the parent too: it must not close between this check and the merge.
    into = _locked(into)
    if into.is_closed:
        raise RequestError(
            _(
                "Request %(number)s is closed: reopen it first, or close this one as a "
                "duplicate with its own note."
            ),
            code="closed",
            number=into.tracking_number,
        )
    said = (
        None
        if note.strip()
        else words.said(
            gettext_noop(
                "This is the same problem as request %(number)s; we will tell you when that "
                "one is done."
            ),
            number=into.tracking_number,
        )
    )
    return close_request(
        sr,
        resolution=Resolution.DUPLICATE,
        note=note.strip() or words.english(said or []),
        duplicate_of=into,
        by=by,
        said=said,
    )


def _duplicate_parent(sr: ServiceRequest, parent: ServiceRequest | None) -> ServiceRequest:
    if parent is None:
        raise RequestError(
            _("Give the tracking number of the request this one duplicates."), code="required"
        )
    # Follow a chain of duplicates to the request that is actually being worked.
    seen = {sr.pk}
    current: ServiceRequest = parent
    while current.pk not in seen and current.duplicate_of is not None:
        seen.add(current.pk)
        current = current.duplicate_of
    if current.pk in seen:
        raise RequestError(_("A request cannot be a duplicate of itself."), code="invalid")
    return current


@transaction.atomic
def reopen_request(sr: ServiceRequest, *, reason: str, by: Actor) -> ServiceRequest:
    sr = _locked(sr)
    if not sr.is_closed:
        raise RequestError(
            _("Request %(number)s is not closed, so it cannot reopen."),
            code="not_closed",
            number=sr.tracking_number,
        )
    reason = _said(reason, _("Say why the request is reopened: what is still wrong?"))
    now = timezone.now()
    sr.status = Status.OPEN if sr.department_id else Status.NEW
    sr.resolution = ""
    sr.duplicate_of = None
    sr.closed_at = None
    sr.overdue_noted_at = None
    # A reopening is a new promise: the clock starts again from zero, with the full target,
    # and its escalation levels are reached (and told) anew. See docs/sla.md.
    sr.due_at = due_at(now, sr.service_type.sla_amount, sr.service_type.sla_unit)
    # The closing words ("Filled the hole.") no longer say where it stands; they stay in the
    # history, and the city's next public note becomes the latest word.
    sr.status_notes = ""
    sr.clock_started_at = now
    sr.paused, sr.paused_at, sr.paused_seconds = "", None, 0
    sr.escalation_due_at, sr.escalation_level = _first_check(sr, now), 0
    sr.updated_at = now
    sr.save(
        update_fields=[
            "status",
            "status_notes",
            "resolution",
            "duplicate_of",
            "closed_at",
            "overdue_noted_at",
            "due_at",
            "clock_started_at",
            "paused",
            "paused_at",
            "paused_seconds",
            "escalation_due_at",
            "escalation_level",
            "updated_at",
        ]
    )
    _record(sr, Event.REOPENED, by=by, public=True, note=reason)
    return sr


def reopen_as_resident(
    sr: ServiceRequest, *, comment: str, photo: UploadedFile | None = None
) -> ServiceRequest:
    """A resident says a closed request is not fixed, within the reopen window.

    by=None: the history shows it came from a resident, and notifications tell the department.
    The photo is kept with the reopening or not at all.
    """
    if not sr.can_reopen():
        raise RequestError(
            _("This request can no longer be reopened online."), code="reopen_window_over"
        )
    # Raises MediaInvalid for a photo that cannot be decoded: only a clean copy is kept.
    cleaned = attachments.clean_photos([photo] if photo else [])
    with attachments.unless_committed() as written, transaction.atomic():
        sr = reopen_request(sr, reason=comment, by=None)
        for clean in cleaned:
            attachments.attach(sr, clean, written=written)
    return sr


def note_overdue(sr: ServiceRequest) -> bool:
    """Record once that a request passed its due date. Safe to call from racing workers."""
    now = timezone.now()
    with transaction.atomic():
        # The conditional update claims the request: of two workers, one gets 1 row, the other 0.
        claimed = (
            ServiceRequest.objects.filter(pk=sr.pk, overdue_noted_at__isnull=True, due_at__lt=now)
            .exclude(status=Status.CLOSED)
            .update(overdue_noted_at=now)
        )
        if claimed:
            _record(
                sr,
                Event.OVERDUE,
                by=None,
                label="city311",
                public=False,
                data={"due_at": sr.due_at.isoformat() if sr.due_at else None},
            )
    return bool(claimed)


def _first_check(sr: ServiceRequest, now: Any) -> Any:
    """When the escalation sweep should first look at a request whose clock (re)started: at
    once, and it works out the next level's moment. Never for imported history."""
    return now if sr.due_at is not None and sr.channel != Channel.IMPORT else None


@transaction.atomic
def pause_request(sr: ServiceRequest, *, reason: str, by: Actor, note: str = "") -> ServiceRequest:
    """Stop the SLA clock while the city waits on the resident or on another agency."""
    sr = _locked(sr)
    _not_closed(sr, _("pausing its clock"))
    if reason not in Pause.values:
        raise RequestError(
            _("Choose what the request is waiting on: one of %(choices)s."),
            code="invalid",
            choices=", ".join(Pause.values),
        )
    if sr.paused:
        raise RequestError(
            _("The clock of request %(number)s is already paused (%(why)s): resume it first."),
            code="already_paused",
            number=sr.tracking_number,
            why=Pause(sr.paused).label,
        )
    now = timezone.now()
    sr.paused, sr.paused_at = reason, now
    sr.escalation_due_at = None  # nothing escalates while the clock stands still
    sr.updated_at = now
    sr.save(update_fields=["paused", "paused_at", "escalation_due_at", "updated_at"])
    _record(
        sr,
        Event.PAUSED,
        by=by,
        public=True,
        note=note.strip(),
        said=None if note.strip() else words.said("%(reason)s", reason=words.pause(reason)),
        data={"reason": reason, "due_at": sr.due_at.isoformat() if sr.due_at else None},
    )
    return sr


@transaction.atomic
def resume_request(sr: ServiceRequest, *, by: Actor, note: str = "") -> ServiceRequest:
    """Start the paused clock again: the due date moves by the clock time paused."""
    sr = _locked(sr)
    if not sr.paused or sr.paused_at is None:
        raise RequestError(
            _("The clock of request %(number)s is not paused."),
            code="not_paused",
            number=sr.tracking_number,
        )
    now = timezone.now()
    cal = Calendar()
    held = sla.paused_clock_time(sr, now, cal)
    before = sr.due_at
    reason, since = sr.paused, sr.paused_at
    sr.due_at = sla.moved_due(sr, held, cal)
    sr.paused_seconds += round(held.total_seconds())
    sr.paused, sr.paused_at = "", None
    sr.escalation_due_at = _first_check(sr, now)
    sr.updated_at = now
    sr.save(
        update_fields=[
            "due_at",
            "paused_seconds",
            "paused",
            "paused_at",
            "escalation_due_at",
            "updated_at",
        ]
    )
    _record(
        sr,
        Event.RESUMED,
        by=by,
        public=True,
        note=note.strip(),
        data={
            "reason": reason,
            "paused_at": since.isoformat(),
            "paused_seconds": round(held.total_seconds()),
            "due_before": before.isoformat() if before else None,
            "due_at": sr.due_at.isoformat() if sr.due_at else None,
        },
    )
    return sr


def escalate_request(sr: ServiceRequest, *, sweep: sla.Sweep | None = None) -> int:
    """Record each escalation level the request's clock has reached and not yet told, oldest
    first, and when to look again; the number recorded. Safe to run late, often, or from
    racing workers: each level of a clock is recorded once (row lock, unique constraint).
    `sweep` carries the calendar and levels a run of the sweep reads once for every request."""
    sweep = sweep or sla.Sweep()
    with transaction.atomic():
        sr = _locked(sr)
        now = timezone.now()
        if sr.is_closed or sr.paused or sr.due_at is None or sr.channel == Channel.IMPORT:
            ServiceRequest.objects.filter(pk=sr.pk).update(escalation_due_at=None)
            return 0
        cal = sweep.calendar
        start = sr.clock_start
        done = set(
            Escalation.objects.filter(request=sr, clock_started_at=start).values_list(
                "percent", flat=True
            )
        )
        recorded, next_at, level = 0, None, sr.escalation_level
        for percent, notify in sweep.levels(sr.service_type_id):
            moment = sla.level_moment(sr, percent, cal)
            if percent in done or moment is None:
                continue
            if moment > now:
                next_at = moment if next_at is None else min(next_at, moment)
                continue
            people = sweep.recipients(sr, notify)
            unreached = sla.reaches_nobody(sr, people)
            _escalate(
                sr,
                percent=percent,
                notify=notify,
                moment=moment,
                start=start,
                # Nobody of the department can be told: the city's administrators are.
                to=sweep.administrators() if unreached else people,
                unreached=unreached,
            )
            recorded, level = recorded + 1, max(level, percent)
        ServiceRequest.objects.filter(pk=sr.pk).update(
            escalation_due_at=next_at, escalation_level=level
        )
    return recorded


def _escalate(
    sr: ServiceRequest,
    *,
    percent: int,
    notify: str,
    moment: Any,
    start: Any,
    to: list[Any],
    unreached: bool = False,
) -> None:
    people = to
    reached = words.said(
        gettext_noop("%(percent)s%% of the target time reached at %(when)s: told %(told)s."),
        percent=percent,
        when=words.at(moment),
        told=words.told([(_name(p), notify) for p in people]),
    )
    data: dict[str, Any] = {
        "percent": percent,
        "notify": notify,
        "reached_at": moment.isoformat(),
        "due_at": sr.due_at.isoformat() if sr.due_at else None,
        "recipients": [p.pk for p in people],
    }
    if unreached:
        reached = _reached_nobody(sr, percent=percent, notify=notify, moment=moment, to=people)
        data["unreached"] = True
    event = _record(
        sr, Event.ESCALATED, by=None, label="city311", public=False, said=reached, data=data
    )
    Escalation.objects.create(
        request=sr,
        clock_started_at=start,
        percent=percent,
        notify=notify,
        reached_at=moment,
        event=event,
    )


def _reached_nobody(
    sr: ServiceRequest, *, percent: int, notify: str, moment: Any, to: list[Any]
) -> Words:
    """The words of a level nobody of the department could be told of, and the warning in
    the log (no personal data: the request's number, its department, the level)."""
    log.warning(
        "Escalation of request %s at %s%% reached nobody of its department (%s): no %s with "
        "an e-mail address and no department mailbox; %s administrator(s) told instead.",
        sr.tracking_number,
        percent,
        sr.department.slug if sr.department else "not routed",
        notify,
        len(to),
    )
    department = words.department(sr.department) if sr.department else "—"
    if to:
        return words.said(
            gettext_noop(
                "%(percent)s%% of the target time reached at %(when)s: nobody of %(department)s "
                "could be told (no one with an e-mail address, no department mailbox); told the "
                "administrators: %(told)s."
            ),
            percent=percent,
            when=words.at(moment),
            department=department,
            told=words.told([(_name(p), "") for p in to]),
        )
    return words.said(
        gettext_noop(
            "%(percent)s%% of the target time reached at %(when)s: NOBODY WAS TOLD. Nobody of "
            "%(department)s has an e-mail address for it, the department has no mailbox and no "
            "administrator has an e-mail address."
        ),
        percent=percent,
        when=words.at(moment),
        department=department,
    )


def note_contact_viewed(sr: ServiceRequest, *, by: Actor, reason: str) -> None:
    """Staff looked at the reporter's details: personal data is shown only with a reason."""
    _record(sr, Event.CONTACT_VIEWED, by=by, public=False, note=reason.strip())


@transaction.atomic
def verify_location(sr: ServiceRequest, *, located: Located, by: Actor) -> ServiceRequest:
    """Staff say where a request is: a candidate address, or the point shown is right.

    The request was filed "location to verify" (an address the geocoder could not place within
    about 50 m) or staff correct its place; it gets the point, the areas it is in and how it
    was placed, and is mapped as exact from now on. The history keeps where it was before.
    """
    sr = _locked(sr)
    _not_closed(sr, _("changing its location"))
    if located.lat is None or located.long is None:
        raise RequestError(_("Choose an address or a point for the request."), code="required")
    if not located.in_city:
        raise RequestError(_("That place is outside the city."), code="outside_city")
    before = {
        "address": sr.address_string,
        "lat": sr.lat,
        "long": sr.long,
        "match": sr.location_match,
        "to_verify": sr.location_to_verify,
    }
    sr.lat, sr.long = located.lat, located.long
    sr.address_string = (located.address or sr.address_string)[:255]
    sr.address_id = located.address_id
    sr.location_match, sr.location_confidence = located.match, located.confidence
    sr.location_to_verify = False
    sr.areas = located.areas_snapshot()
    sr.zipcode = sr.zipcode or located.postcode[:10]
    sr.updated_at = timezone.now()
    sr.save(
        update_fields=[
            "lat",
            "long",
            "address_string",
            "address_id",
            "location_match",
            "location_confidence",
            "location_to_verify",
            "areas",
            "zipcode",
            "updated_at",
        ]
    )
    _record(
        sr,
        Event.LOCATION_VERIFIED,
        by=by,
        public=False,
        said=words.said(
            gettext_noop("Located at %(address)s (%(match)s)."),
            address=sr.address_string,
            match=sr.location_match,
        )
        if sr.address_string
        else words.said(
            gettext_noop("Located at the point shown (%(match)s)."), match=sr.location_match
        ),
        data={
            "from": before,
            "to": {
                "address": sr.address_string,
                "lat": sr.lat,
                "long": sr.long,
                "match": sr.location_match,
            },
        },
    )
    return sr


# What a resident says about a request through an application (FixMyStreet's update states).
SAYS_FIXED = "fixed"
SAYS_NOT_FIXED = "not_fixed"
SAYS_NOTHING = "comment"
# Stored in English, as all history is (the event's data says resident_says=not_fixed); a page
# shows it in its own language: gettext(NOT_FIXED_REASON).
NOT_FIXED_REASON = gettext_noop("The resident says it is not fixed.")


@transaction.atomic
def add_resident_update(
    sr: ServiceRequest, *, text: str, says: str, label: str, media_url: str = ""
) -> RequestEvent:
    """A resident's update sent by an application: public history on the request.

    "Not fixed" on a closed request within its reopen window reopens it; "fixed" on an open one
    is recorded (data resident_says=fixed) for staff to close, never closes it by itself. The
    resident's words do not become the city's latest word (status_notes). Its text may be as
    long as a request's description (MAX_DESCRIPTION): applications such as FixMyStreet set no
    limit. `media_url`, a link to its photo, is kept in the event's data (open311.media
    fetches it from the hosts the city allows).
    """
    sr = _locked(sr)
    check_note(text, limit=MAX_DESCRIPTION)
    data = {"resident_says": says, "application": label}
    if media_url:
        data["media_url"] = media_url
    if says == SAYS_NOT_FIXED and sr.can_reopen():
        reason = text[:MAX_NOTE] or NOT_FIXED_REASON
        reopen_request(sr, reason=reason, by=None)
        event = sr.events.order_by("-id").first()
        assert event is not None
        event.actor_label, event.data = label, data
        event.save(update_fields=["actor_label", "data"])
        return event
    sr.updated_at = timezone.now()
    sr.save(update_fields=["updated_at"])
    return _record(sr, Event.NOTE, by=None, label=label, public=True, note=text, data=data, limit=0)


def close_with_photos(
    sr: ServiceRequest, *, note: str, photos: list[attachments.CleanPhoto], by: Actor
) -> ServiceRequest:
    """A crew closes the request as completed, saying what was done, with completion photos
    (cleaned first: attachments.clean_photos). The photos are public, as the resident's are."""
    with attachments.unless_committed() as written, transaction.atomic():
        sr = close_request(sr, resolution=Resolution.COMPLETED, note=note, by=by)
        for photo in photos:
            attachments.attach(sr, photo, written=written)
    return sr


# Work orders


def _locked_order(order: WorkOrder) -> tuple[ServiceRequest, WorkOrder]:
    # The request first, always: every work order change locks in the same order as the
    # request's own actions, and the "last one done closes it" check sees the others settled.
    sr = _locked(order.request)
    return sr, WorkOrder.objects.select_for_update().get(pk=order.pk)


def _order_worker(sr: ServiceRequest, assignee: Any) -> None:
    if assignee is not None and not _works_in_department(assignee, sr):
        raise RequestError(
            _("%(person)s is not in %(department)s: choose someone from that department."),
            code="not_in_department",
            person=assignee.get_full_name() or assignee.get_username(),
            department=str(sr.department),
        )


@transaction.atomic
def add_work_order(sr: ServiceRequest, *, title: str, by: Actor, assignee: Any = None) -> WorkOrder:
    """One piece of the request's work (a visit, a crew's job), with its own assignee."""
    sr = _locked(sr)
    _not_closed(sr, _("adding work to it"))
    title = _said(title, _("Say what the work order is for."))
    if len(title) > 200:
        raise RequestError(
            _("The work order's title is too long: use at most 200 characters."),
            code="too_long",
        )
    check_note(title)
    _order_worker(sr, assignee)
    last = sr.work_orders.order_by("-number").values_list("number", flat=True).first()
    order = WorkOrder.objects.create(
        request=sr, number=(last or 0) + 1, title=title, assignee=assignee
    )
    sr.updated_at = timezone.now()
    sr.save(update_fields=["updated_at"])
    _record(
        sr,
        Event.WORK_ORDER_ADDED,
        by=by,
        public=False,
        said=words.said(
            gettext_noop("Work order %(number)s: %(title)s"), number=order.number, title=title
        ),
        data={"work_order": order.number, "assignee": assignee.pk if assignee else None},
    )
    return order


def _order_open(order: WorkOrder) -> None:
    if order.is_finished:
        raise RequestError(
            _("Work order %(number)s is already %(status)s."),
            code="finished",
            number=order.number,
            status=WorkOrderStatus(order.status).label.lower(),
        )


@transaction.atomic
def start_work_order(order: WorkOrder, *, by: Actor) -> WorkOrder:
    """The work order is under way, taken by the one who starts it when it has nobody."""
    sr, order = _locked_order(order)
    _not_closed(sr, _("starting work"))
    _order_open(order)
    if order.status == WorkOrderStatus.IN_PROGRESS:
        raise RequestError(
            _("Work order %(number)s is already in progress."),
            code="already_started",
            number=order.number,
        )
    order.status = WorkOrderStatus.IN_PROGRESS
    if order.assignee_id is None and _works_in_department(by, sr):
        order.assignee = by  # type: ignore[assignment]
    order.save(update_fields=["status", "assignee"])
    sr.updated_at = timezone.now()
    fields = ["updated_at"]
    if sr.status != Status.IN_PROGRESS:
        sr.status = Status.IN_PROGRESS
        fields.append("status")
    sr.save(update_fields=fields)
    _record(
        sr,
        Event.WORK_ORDER_STARTED,
        by=by,
        public=False,
        said=words.said(
            gettext_noop("Work order %(number)s: %(title)s"),
            number=order.number,
            title=order.title,
        ),
        data={"work_order": order.number, "assignee": order.assignee_id},
    )
    return order


@transaction.atomic
def finish_work_order(
    order: WorkOrder, *, result: str, by: Actor, cancelled: bool = False
) -> WorkOrder:
    """Done (with what was done, which the resident reads) or cancelled (with why).

    When it was the last unfinished work order, the request closes as completed with the
    done work orders' words; a request whose every work order was cancelled stays open.
    """
    sr, order = _locked_order(order)
    _not_closed(sr, _("finishing its work"))
    _order_open(order)
    result = _said(
        result,
        _("Say why the work order is cancelled.")
        if cancelled
        else _("Write what was done; the resident reads it."),
    )
    now = timezone.now()
    order.status = WorkOrderStatus.CANCELLED if cancelled else WorkOrderStatus.DONE
    order.result = result
    order.done_at = now
    order.save(update_fields=["status", "result", "done_at"])
    sr.updated_at = now
    sr.save(update_fields=["updated_at"])
    _record(
        sr,
        Event.WORK_ORDER_CANCELLED if cancelled else Event.WORK_ORDER_DONE,
        by=by,
        public=not cancelled,
        note=result,
        data={"work_order": order.number},
    )
    orders = list(sr.work_orders.all())
    done = [o for o in orders if o.status == WorkOrderStatus.DONE]
    if done and all(o.is_finished for o in orders):
        close_request(sr, resolution=Resolution.COMPLETED, note=_summary(done), by=by)
    return order


def add_work_order_note(
    order: WorkOrder,
    *,
    text: str,
    by: Actor,
    public: bool = False,
    photos: Sequence[attachments.CleanPhoto] = (),
) -> RequestEvent:
    """A note on one work order (internal unless `public`): an event of the request's history
    naming the work order, which its page lists under that work order.

    Photos (cleaned first: attachments.clean_photos) become the request's photos, which are
    public like the resident's: so a note with photos must be one the resident can read."""
    if photos and not public:
        raise RequestError(
            _(
                "A photo is shown to the resident with the request: tick “the resident can "
                "read this note”, or leave the photo out."
            ),
            code="photo_not_public",
        )
    with attachments.unless_committed() as written, transaction.atomic():
        sr, order = _locked_order(order)
        text = _said(text, _("Write the note before saving it."))
        sr.updated_at = timezone.now()
        sr.save(update_fields=["updated_at"])
        stored = [attachments.attach(sr, photo, written=written) for photo in photos]
        return _record(
            sr,
            Event.WORK_ORDER_NOTE,
            by=by,
            public=public,
            note=text,
            data={"work_order": order.number, "photos": [a.pk for a in stored]},
        )


@transaction.atomic
def reassign_work_order(order: WorkOrder, *, to: Any, by: Actor) -> WorkOrder:
    """Give an unfinished work order to another person of the request's department, or to
    nobody (to=None)."""
    sr, order = _locked_order(order)
    _not_closed(sr, _("reassigning its work"))
    _order_open(order)
    _order_worker(sr, to)
    if (to.pk if to else None) == order.assignee_id:
        raise RequestError(
            _("Work order %(number)s is already assigned to them."),
            code="unchanged",
            number=order.number,
        )
    before = order.assignee_id
    order.assignee = to
    order.save(update_fields=["assignee"])
    sr.updated_at = timezone.now()
    sr.save(update_fields=["updated_at"])
    _record(
        sr,
        Event.WORK_ORDER_REASSIGNED,
        by=by,
        public=False,
        said=words.said(
            gettext_noop("Work order %(number)s given to %(name)s."),
            number=order.number,
            name=_name(to),
        )
        if to
        else words.said(
            gettext_noop("Work order %(number)s given to nobody."), number=order.number
        ),
        data={"work_order": order.number, "assignee": to.pk if to else None, "was": before},
    )
    return order


@transaction.atomic
def hand_back_work_order(order: WorkOrder, *, reason: str, by: Actor) -> WorkOrder:
    """The crew cannot do this work order (wrong kit, not theirs, blocked): it goes back to
    nobody and to do, with why (internal), for a supervisor to give again."""
    sr, order = _locked_order(order)
    _not_closed(sr, _("handing its work back"))
    _order_open(order)
    reason = _said(reason, _("Say why the work order is handed back; the supervisor reads it."))
    before = order.assignee_id
    order.assignee = None
    order.status = WorkOrderStatus.OPEN
    order.save(update_fields=["assignee", "status"])
    sr.updated_at = timezone.now()
    sr.save(update_fields=["updated_at"])
    told = [p.pk for p in hand_back_recipients(sr) if not (isinstance(by, User) and p.pk == by.pk)]
    _record(
        sr,
        Event.WORK_ORDER_HANDED_BACK,
        by=by,
        public=False,
        note=reason,
        data={"work_order": order.number, "was": before, "recipients": told},
    )
    return order


def hand_back_recipients(sr: ServiceRequest) -> list[User]:
    """Who hears that a work order came back, to give it again: the supervisors (the request's
    team's, else its department's, as at an escalation's breach) and the request's assignee,
    who answers for all of its work. With nobody (the one who handed it back is left out), the
    notifications tell the department's mailbox."""
    people = sla.escalation_recipients(sr, Escalate.SUPERVISOR)
    if sr.assignee_id is not None and sr.assignee_id not in {p.pk for p in people}:
        people += list(User.objects.filter(pk=sr.assignee_id, is_active=True).exclude(email=""))
    return people


def _summary(done: list[WorkOrder]) -> str:
    if len(done) == 1:
        return done[0].result
    return "\n".join(f"{o.title}: {o.result}" for o in done)


@transaction.atomic
def record_forwarded(sr: ServiceRequest, *, to: str, remote_id: str, link: str) -> RequestEvent:
    """The request was filed on another Open311 server (a contractor's, a county's): an
    internal event that staff read with the remote's id and where to look it up."""
    sr = _locked(sr)
    said = (
        words.said(
            gettext_noop("Filed with %(to)s as %(id)s: %(link)s"), to=to, id=remote_id, link=link
        )
        if remote_id
        else words.said(gettext_noop("Filed with %(to)s"), to=to)
    )
    data = {"to": to, "remote_id": remote_id, "link": link}
    return _record(sr, Event.FORWARDED, by=None, label=to, public=False, data=data, said=said)


@transaction.atomic
def record_rescheduled(
    sr: ServiceRequest, *, old: date, new: date, reasons: dict[str, str], by: Actor
) -> RequestEvent:
    """The city moved the request's appointment (a bulky pickup whose route changed): public
    history, and its followers hear of it once, with both days. `reasons`: why, by language
    ({"en": "Snow emergency", "es": ...}); the English is the note staff read."""
    sr = _locked(sr)
    sr.updated_at = timezone.now()
    sr.save(update_fields=["updated_at"])
    note = reasons.get("en", "")[:MAX_NOTE]
    data = {"from": old.isoformat(), "to": new.isoformat(), "reasons": reasons}
    return _record(sr, Event.RESCHEDULED, by=by, public=True, note=note, data=data, limit=0)


@transaction.atomic
def add_remote_update(
    sr: ServiceRequest, *, text: str, label: str, data: dict[str, Any], closes: str = ""
) -> RequestEvent:
    """News from the server a request was forwarded to, as public history. When the remote
    closed it (`closes`: the resolution) and it is open here, it closes here with the remote's
    note, once."""
    sr = _locked(sr)
    text = text.strip()[:MAX_NOTE]
    if closes and not sr.is_closed:
        said = None if text else words.said(gettext_noop("Closed by %(who)s."), who=label)
        note = text or words.english(said or [])
        # The server it was forwarded to did the work and closed it: any work order left
        # here is cancelled with it, each in the history.
        close_request(sr, resolution=closes, note=note, by=None, said=said, cancel_unfinished=True)
        event = sr.events.filter(kind=Event.CLOSED).order_by("-id").first()
        assert event is not None
        event.actor_label, event.data = label, {**event.data, **data}
        event.save(update_fields=["actor_label", "data"])
        return event
    sr.updated_at = timezone.now()
    sr.save(update_fields=["updated_at"])
    return _record(sr, Event.REMOTE_UPDATE, by=None, label=label, public=True, note=text, data=data)
