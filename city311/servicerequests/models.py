"""The service request, its reporter's contact details, and its history."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from city311.catalog.models import Department, ServiceType
from city311.lib import phones
from city311.servicerequests import vocabulary
from city311.servicerequests.vocabulary import Channel, Pause, Resolution, Status

if TYPE_CHECKING:
    from datetime import datetime


class ServiceRequestQuerySet(models.QuerySet["ServiceRequest"]):
    def unclosed(self) -> ServiceRequestQuerySet:
        return self.exclude(status=Status.CLOSED)

    def live(self) -> ServiceRequestQuerySet:
        """Requests this system received: not records brought in from an earlier system."""
        return self.filter(historical=False)

    def overdue(self, now: datetime | None = None) -> ServiceRequestQuerySet:
        # An imported record left open by the earlier system is history, not late work; a
        # request paused before its due date is not late: its due date moves when it resumes.
        return (
            self.unclosed()
            .live()
            .filter(due_at__lt=now or timezone.now())
            .exclude(paused_at__isnull=False, paused_at__lt=models.F("due_at"))
        )


# The bands of escalation_level (the highest percent the current clock reached) the board
# counts and the work queue filters by: warned before the due date, breached at it, way
# overdue at three times the target. Each has an index of its own (sr_<band>_queue).
ESCALATION_BANDS: dict[str, Q] = {
    "warned": Q(escalation_level__gt=0, escalation_level__lt=100),
    "breached": Q(escalation_level__gte=100, escalation_level__lt=300),
    "way_overdue": Q(escalation_level__gte=300),
}
# Requests not closed that this system received: the live work of the queues (not history
# imported from an earlier system).
LIVE_WORK = ~Q(status="closed") & Q(historical=False)


class ServiceRequest(models.Model):
    # Unique by the constraint below, not unique=True: on PostgreSQL that would also build a
    # varchar_pattern_ops index for LIKE that nothing uses and every insert pays for.
    tracking_number = models.CharField(max_length=12)
    # Indexed by sr_type_requested_at (and sr_type_queue for unclosed requests), which begins
    # with it: no index of its own for every insert to keep up.
    service_type = models.ForeignKey(
        ServiceType, on_delete=models.PROTECT, related_name="requests", db_index=False
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    resolution = models.CharField(max_length=12, choices=Resolution.choices, blank=True)
    # The latest public word on the request (Open311's status_notes).
    status_notes = models.TextField(blank=True)
    description = models.TextField(blank=True)
    answers = models.JSONField(default=dict, blank=True)

    lat = models.FloatField("latitude", null=True, blank=True)
    long = models.FloatField("longitude", null=True, blank=True)
    address_string = models.CharField(max_length=255, blank=True)
    address_id = models.CharField(max_length=60, blank=True)
    zipcode = models.CharField(max_length=10, blank=True)
    media_url = models.URLField("media URL", max_length=500, blank=True)
    # How the location was found (Open311's `location_precision`): "address", "place",
    # "intersection", "interpolated", "street" or "pin" (geo/locate.py), and how sure.
    location_match = models.CharField(max_length=20, blank=True)
    location_confidence = models.FloatField(null=True, blank=True)
    # Not placed within about 50 m: staff verify it; it is neither routed by its areas nor
    # shown on the public map until they do (servicerequests.actions.verify_location).
    location_to_verify = models.BooleanField(default=False)
    # The areas the point was in when filed: {kind: {"code": ..., "name": ...}}. Kept as filed,
    # so re-importing boundaries later does not move old requests between districts.
    areas = models.JSONField(default=dict, blank=True)
    # An API report near an open one of the same type: created, and flagged for staff to merge.
    possible_duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        related_name="possible_duplicates",
        null=True,
        blank=True,
        db_index=False,  # sr_possible_duplicate_of: only the requests that have one
    )

    channel = models.CharField(max_length=12, choices=Channel.choices)
    # Which Open311 application, source system or import file it came from.
    application = models.CharField(max_length=120, blank=True)
    external_id = models.CharField(max_length=60, blank=True)
    # Imported from an earlier system (servicerequests.imports): kept for reports, history and
    # tracking, never live work, so out of department queues and the overdue sweep even when
    # the earlier system left it open.
    historical = models.BooleanField(default=False, editable=False)
    # A hash of the channel's key for one filing (the portal's draft token, an Open311
    # Idempotency-Key header): the same key files once, however often it is sent.
    idempotency_key = models.CharField(max_length=64, blank=True, editable=False)

    # Its own index (the ForeignKey's), on every request: a supervisor's queue of any status
    # or closed counts their department's requests from it (a department of 2.5% of a
    # million: 0.2 ms, and 29-78 ms by a scan of the table without), and a department's
    # PROTECT check on delete finds its requests there.
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="requests", null=True, blank=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="assigned_requests",
        null=True,
        blank=True,
        db_index=False,  # sr_assignee: only the requests that have one
    )
    # The crew of the department that does the work (assignment rules, or a supervisor).
    team = models.ForeignKey(
        "Team",
        on_delete=models.SET_NULL,
        related_name="requests",
        null=True,
        blank=True,
        db_index=False,  # sr_team_queue: only unclosed requests that have one
    )
    urgent = models.BooleanField(default=False)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        related_name="duplicates",
        null=True,
        blank=True,
        db_index=False,  # sr_duplicate_of: only the requests that have one
    )

    requested_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # When the overdue sweep recorded that this request passed its due date; cleared on reopen.
    overdue_noted_at = models.DateTimeField(null=True, blank=True)

    # The SLA clock (city311.servicerequests.sla): it starts at filing, starts again at a
    # reopening (empty: at requested_at), and stops while the city waits on someone else.
    clock_started_at = models.DateTimeField(null=True, blank=True)
    paused = models.CharField(max_length=10, choices=Pause.choices, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # The clock time paused since it started, which moved the due date: working time for a
    # type counted in business hours, elapsed time for one counted in calendar days.
    paused_seconds = models.PositiveIntegerField(default=0)
    # When the escalation sweep next looks at this request (the next level's moment); empty
    # when nothing is left to escalate (closed, paused, no target, every level reached).
    escalation_due_at = models.DateTimeField(null=True, blank=True)
    # The highest escalation level (percent) the current clock reached, 0 for none: the
    # boards' flag, without a query per row.
    escalation_level = models.PositiveIntegerField(default=0)

    objects = ServiceRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]
        permissions = [
            ("view_all_requests", "Can see the requests of every department"),
            ("work_request", "Can work the requests of their own departments"),
            ("assign_request", "Can assign requests to staff of their departments"),
            ("view_contact", "Can see a reporter's contact details"),
            ("view_reports", "Can see reports"),
        ]
        constraints = [
            # Every lookup by the number residents read out (get_by_tracking_number, Open311).
            models.UniqueConstraint(fields=["tracking_number"], name="sr_one_tracking_number"),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="sr_one_filing_per_key",
            ),
        ]
        indexes = [
            # The department work queue: unclosed requests of one department, urgent first,
            # then by due date (city311.work.queries.select).
            models.Index(
                fields=["department", "-urgent", "due_at"],
                name="sr_department_queue",
                condition=~Q(status="closed") & Q(historical=False),
            ),
            # The work queue of every department at once (staff who see all of them), and its
            # "team" filter (city311.work.queries.QueueFilters).
            models.Index(
                fields=["-urgent", "due_at"],
                name="sr_unclosed_queue",
                condition=~Q(status="closed"),
            ),
            models.Index(
                fields=["team", "-urgent", "due_at"],
                name="sr_team_queue",
                condition=~Q(status="closed") & Q(team__isnull=False),
            ),
            # The overdue sweep (servicerequests.tasks.flag_overdue_requests).
            models.Index(
                fields=["due_at"],
                name="sr_unclosed_due",
                condition=~Q(status="closed") & Q(historical=False),
            ),
            # The escalation sweep (servicerequests.tasks.escalate_requests): only requests
            # with a level still to reach.
            models.Index(
                fields=["escalation_due_at"],
                name="sr_escalation_due",
                condition=Q(escalation_due_at__isnull=False),
            ),
            # The queue's escalation filter (warned, breached, way overdue): the unclosed
            # requests of one band in queue order, read in order as far as the page goes (one
            # index over every level could only hand them over to be sorted).
            *(
                models.Index(
                    fields=["-urgent", "due_at"],
                    name=f"sr_{band}_queue",
                    condition=~Q(status="closed") & band_q,
                )
                for band, band_q in ESCALATION_BANDS.items()
            ),
            # The queue's type filter in queue order: a type that is not urgent comes after
            # every urgent request in sr_unclosed_queue, so reading that one for it would pass
            # all of them first.
            models.Index(
                fields=["service_type", "-urgent", "due_at"],
                name="sr_type_queue",
                condition=~Q(status="closed"),
            ),
            # The queue's status filter (new, open, in progress) in queue order
            # (city311.work.queries.select also says "not closed", as the condition does).
            models.Index(
                fields=["status", "-urgent", "due_at"],
                name="sr_status_queue",
                condition=~Q(status="closed"),
            ),
            # A supervisor's queue (their departments only) filtered by status, channel or
            # escalation band, in queue order: the department comes first, so the page reads
            # one department's matches in order and the capped count only those, rather than
            # every department's matches thrown away after, or a bitmap of the department's
            # closed history (190,000 of a million rows) to and with (bench/work_queue.py:
            # status "open" 139 ms -> 0.3 ms counted, escalation "warned" 274 -> 5 ms paged).
            models.Index(
                fields=["department", "status", "-urgent", "due_at"],
                name="sr_dept_status_queue",
                condition=~Q(status="closed"),
            ),
            models.Index(
                fields=["department", "channel", "-urgent", "due_at"],
                name="sr_dept_channel_queue",
                condition=LIVE_WORK,
            ),
            *(
                models.Index(
                    fields=["department", "-urgent", "due_at"],
                    name=f"sr_dept_{band}_queue",
                    condition=~Q(status="closed") & band_q,
                )
                for band, band_q in ESCALATION_BANDS.items()
            ),
            # The supervisor's board (city311.work.queries.board): every unclosed request's
            # department, team, assignee, due date, escalation level and areas, read from this
            # index alone rather than from the table's pages, where the open rows are spread
            # over every page among the closed ones (a manager's board 600 -> 220 ms of CPU at
            # a million). PostgreSQL only keeps the included columns; elsewhere it is an index
            # of department and team.
            models.Index(
                fields=["department", "team"],
                include=["id", "assignee", "due_at", "escalation_level", "areas"],
                name="sr_board",
                condition=~Q(status="closed"),
            ),
            # The live queue sorted by when received or last changed, and its date filters:
            # without them, "oldest first" would walk every closed request of the years
            # before the oldest open one.
            models.Index(fields=["requested_at"], name="sr_live_requested_at", condition=LIVE_WORK),
            models.Index(fields=["updated_at"], name="sr_live_updated_at", condition=LIVE_WORK),
            # Open311 GET requests by date window and updates feeds.
            models.Index(fields=["requested_at"], name="sr_requested_at"),
            models.Index(fields=["updated_at"], name="sr_updated_at"),
            # The portal's recent requests of one type, newest first, keyset-paged
            # (city311.portal.queries.recent_requests and map_points); a type with any status
            # or closed in the work queue and Open311, and the type's PROTECT check on delete.
            # (A (type, status) index beside it served nothing these do not: at a million the
            # queue's "type, closed" count reads this one in 1 ms.)
            models.Index(fields=["service_type", "requested_at"], name="sr_type_requested_at"),
            # Duplicate offers: unclosed requests of a type within a box around a point
            # (city311.servicerequests.duplicates.find_duplicates).
            models.Index(
                fields=["service_type", "lat", "long"],
                name="sr_unclosed_type_place",
                condition=~Q(status="closed"),
            ),
            # Links most requests never have, indexed only where set: a new request (all
            # three empty) writes no entry in them.
            *(
                models.Index(
                    fields=[name], name=f"sr_{name}", condition=Q(**{f"{name}__isnull": False})
                )
                for name in ("possible_duplicate_of", "duplicate_of", "assignee")
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_number

    @property
    def is_closed(self) -> bool:
        return self.status == Status.CLOSED

    def is_overdue(self, now: datetime | None = None) -> bool:
        if self.is_closed or self.due_at is None:
            return False
        if self.paused_at is not None and self.paused_at < self.due_at:
            return False  # the clock stopped in time; the due date moves when it resumes
        return self.due_at < (now or timezone.now())

    @property
    def clock_start(self) -> datetime:
        return self.clock_started_at or self.requested_at

    def can_reopen(self, now: datetime | None = None) -> bool:
        """Within the reopen window after closing."""
        if not self.is_closed or self.closed_at is None:
            return False
        days = settings.CITY311_REOPEN_DAYS
        return (now or timezone.now()) - self.closed_at <= timedelta(days=days)


class Contact(models.Model):
    """The reporter's details: personal data, kept apart and shown only to staff with a reason."""

    request = models.OneToOneField(
        ServiceRequest, on_delete=models.CASCADE, related_name="contact", primary_key=True
    )
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    language = models.CharField(max_length=8, default="en")  # one of settings.LANGUAGES

    class Meta:
        # The caller card: every request a number reported (contacts.queries.caller_card).
        indexes = [models.Index(fields=["phone"], name="sr_contact_phone", condition=~Q(phone=""))]

    def __str__(self) -> str:
        # Never the details themselves: this text can end up in logs and admin messages.
        return f"Contact for {self.request_id}"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def phone_display(self) -> str:
        """The stored (E.164) number as people write it: (718) 555-0199."""
        return phones.display(self.phone)


class RequestEvent(models.Model):
    """One change in a request's life: who, when, what, and whether the public sees it."""

    # Indexed by event_request_at, which begins with it.
    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=40)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="request_events",
        null=True,
        blank=True,
        db_index=False,  # event_actor: only the events staff made
    )
    # Who did it, for actors without an account: "Resident via web", "Open311: FixMyStreet".
    actor_label = models.CharField(max_length=120, blank=True)
    public = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["request", "at"], name="event_request_at"),
            # Open311's servicerequestupdates feed: public events in a time window.
            models.Index(fields=["at"], name="event_public_at", condition=Q(public=True)),
            models.Index(fields=["actor"], name="event_actor", condition=Q(actor__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def label(self) -> str:
        return vocabulary.event_label(self.kind)

    @property
    def text(self) -> str:
        """The note in the reader's language: city311's own words worded now (vocabulary)."""
        return vocabulary.event_note(self.kind, self.note, self.data)

    @property
    def who(self) -> str:
        if self.actor_id is not None and self.actor is not None:
            return self.actor.get_full_name() or self.actor.get_username()
        return vocabulary.actor_words(self.actor_label)

    @property
    def reason(self) -> str:
        return vocabulary.event_reason(self.kind, self.data)


class MatchRule(models.Model):
    """What routing rules and assignment rules share: a type (or a whole group) in an area
    (or anywhere), and a priority. The one matcher is servicerequests.routing.Router.

    The most specific matching rule wins: a type rule before a group rule, a rule with an area
    before one without, then the lowest `priority`, then the oldest.
    """

    group = models.CharField(
        max_length=80, blank=True, help_text="A service group, for a rule on every type in it."
    )
    priority = models.PositiveIntegerField(default=100)
    active = models.BooleanField(default=True)

    # Declared by each kind of rule (their reverse names differ).
    service_type: Any
    service_type_id: int | None
    area: Any
    area_id: int | None

    class Meta:
        abstract = True
        ordering = ["priority", "id"]

    def applies(self, service_type: ServiceType, area_ids: set[int]) -> bool:
        """Whether the rule is about this type (or its group) where the point lies."""
        about = (
            self.service_type_id == service_type.pk
            if self.service_type_id is not None
            else bool(service_type.group) and self.group == service_type.group
        )
        return about and (self.area_id is None or self.area_id in area_ids)

    def specificity(self) -> tuple[bool, bool, int, int]:
        """Sorts the most specific rule first."""
        return (self.service_type_id is None, self.area_id is None, self.priority, self.pk or 0)

    def describe(self) -> str:
        what = self.service_type.service_name if self.service_type else f"group {self.group}"
        where = self.area.name if self.area else "anywhere"
        return f"{what}, {where}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if (self.service_type_id is None) == (not self.group):
            raise ValidationError("Choose either a service type or a group, not both.")


def _rule_type(related_name: str) -> Any:
    return models.ForeignKey(
        ServiceType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name=related_name,
    )


def _rule_area(related_name: str) -> Any:
    return models.ForeignKey(
        "geo.Boundary",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text="Empty for anywhere in the city.",
        related_name=related_name,
    )


class RoutingRule(MatchRule):
    """Which department handles a type (or a whole group) in an area. With no rule, the type's
    default department."""

    service_type = _rule_type("routing_rules")
    area = _rule_area("routing_rules")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")

    class Meta(MatchRule.Meta):
        pass

    def __str__(self) -> str:
        return f"Rule {self.pk}: {self.describe()} → {self.department}"


def _attachment_path(attachment: Attachment, filename: str) -> str:
    # A fresh random name: the uploaded file's own name can carry personal data.
    return f"attachments/{attachment.uploaded_at:%Y/%m}/{filename}"


class Attachment(models.Model):
    """A photo or other media a reporter sent with a request; public, like the request itself."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=_attachment_path, max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"Attachment {self.pk} of {self.request_id}"


class Escalation(models.Model):
    """One escalation level a request reached in one run of its clock.

    Unique per (request, clock start, level): nothing escalates twice for the same level,
    however often or late the sweep runs; a reopening starts the clock, and the levels, anew.
    """

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="escalations", db_index=False
    )
    clock_started_at = models.DateTimeField()
    percent = models.PositiveIntegerField()
    notify = models.CharField(max_length=12, choices=vocabulary.Escalate.choices)
    # When the level was reached by the clock, and when the sweep noticed (later if it ran late).
    reached_at = models.DateTimeField()
    noted_at = models.DateTimeField(default=timezone.now)
    event = models.ForeignKey(RequestEvent, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["reached_at", "percent"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "clock_started_at", "percent"], name="escalation_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_id} at {self.percent}%"


class ConsumerCursor(models.Model):
    """How far one consumer of the event stream has read (city311.servicerequests.stream).

    Ids are handed out before commit, so an event with a lower id can become visible after a
    higher one. Every event up to `done_upto` was handled (or will never exist); above it, the
    consumer's `ConsumedEvent` rows say which were. `done_upto` moves only up to `settled_upto`:
    the newest id that was already visible one settle window ago, by when any transaction
    holding a lower id has committed or rolled back.
    """

    name = models.CharField(max_length=40, primary_key=True)
    done_upto = models.BigIntegerField(default=0)
    settled_upto = models.BigIntegerField(default=0)
    # The newest visible id at `seen_at`: it becomes settled one settle window later.
    seen_upto = models.BigIntegerField(default=0)
    seen_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    # The last failure of the consumer's handler, kept until it next succeeds.
    failures = models.PositiveIntegerField(default=0)
    failed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.done_upto}"


class QueuedDispatch(models.Model):
    """A dispatch of the event stream queued in the database queue and not begun: the commits of
    the next moments join it instead of queuing one each (city311.servicerequests.stream).

    A commit joins by holding a share lock on the row until it commits; the dispatch takes the
    row away (which waits for those locks) before it reads, so it reads every commit that joined.
    """

    # The task queue's name (settings.Q_CLUSTER): a commit joins only a dispatch its own
    # workers will run.
    queue = models.CharField(max_length=100)
    # The first event id of the commit that queued it: only commits from there on may join.
    since = models.BigIntegerField()
    queued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "queued dispatches"

    def __str__(self) -> str:
        return f"dispatch from {self.since}"


class ConsumedEvent(models.Model):
    """An event above its consumer's `done_upto` that the consumer handled; pruned as it moves."""

    consumer = models.CharField(max_length=40)
    event = models.ForeignKey(RequestEvent, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consumer", "event"], name="consumed_once"),
        ]

    def __str__(self) -> str:
        return f"{self.consumer} handled {self.event_id}"


class ExpectedClose(models.Model):
    """The daily rollup of how long requests take (servicerequests/expected.py): per type,
    district ("" = the whole city) and season ("" = all year)."""

    service_type = models.ForeignKey(
        "catalog.ServiceType", on_delete=models.CASCADE, related_name="+"
    )
    district = models.CharField(max_length=60, blank=True)
    district_name = models.CharField(max_length=120, blank=True)
    season = models.CharField(max_length=8, blank=True)
    requests = models.PositiveIntegerField()
    closed = models.PositiveIntegerField()
    # Hours by which 80% (and 50%) closed; null when the history never got there.
    most_within_hours = models.FloatField(null=True)
    typical_hours = models.FloatField(null=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["service_type", "district", "season"], name="expected_close_group"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_type_id} {self.district or 'city'} {self.season or 'all year'}"


class EscalationLevel(models.Model):
    """A point in a request's SLA time at which someone is told: the city's per type.

    Percent of the target time: 75 warns before the due date, 100 is the breach, 300 is three
    times the target (Signalen's "way overdue"). A type with levels of its own uses those; any
    other uses the rows with no type; with no rows at all, DEFAULT_LEVELS.
    """

    service_type = models.ForeignKey(
        ServiceType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="escalation_levels",
        help_text="Empty for every type without levels of its own.",
    )
    percent = models.PositiveIntegerField(
        help_text="Of the target time: 75 before the due date, 100 at it, 300 at three times."
    )
    notify = models.CharField(max_length=12, choices=vocabulary.Escalate.choices)

    class Meta:
        ordering = ["service_type_id", "percent"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_type", "percent"], name="escalation_level_once_per_type"
            ),
            models.UniqueConstraint(
                fields=["percent"],
                condition=Q(service_type__isnull=True),
                name="escalation_level_once_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.percent}%: {self.get_notify_display()}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if not 1 <= self.percent <= 10_000:
            raise ValidationError({"percent": "Use a percent from 1 to 10,000."})


class ResponseTemplate(models.Model):
    """A ready wording of a public update, per type and state, in one language.

    Staff pick one on the work page to post it as a public note: quick and consistent updates.
    Django template syntax, with {{ tracking_number }}, {{ service_name }} and {{ due_at }}.
    """

    title = models.CharField(max_length=120, help_text="What staff see in the list.")
    service_type = models.ForeignKey(
        ServiceType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="response_templates",
        help_text="Empty for every type.",
    )
    status = models.CharField(
        max_length=12,
        choices=Status.choices,
        blank=True,
        help_text="Offered in this state only; empty for any open state.",
    )
    paused = models.BooleanField(
        default=False, help_text="Offered only while the clock is paused (waiting on someone)."
    )
    language = models.CharField(max_length=8, default="en")  # one of settings.LANGUAGES
    text = models.TextField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["title", "language"]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError
        from django.template import Template, TemplateSyntaxError

        if self.language not in dict(settings.LANGUAGES):
            raise ValidationError(
                {"language": f"Use one of: {', '.join(dict(settings.LANGUAGES))}."}
            )
        try:
            Template(self.text)
        except TemplateSyntaxError as e:
            raise ValidationError({"text": f"This is not a valid template: {e}"}) from None


class Team(models.Model):
    """A crew of a department: its members and the areas it works (its territory)."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    areas = models.ManyToManyField(
        "geo.Boundary",
        related_name="teams",
        blank=True,
        help_text="The districts or zones the team works; empty for the whole city.",
    )
    # Where the crew's day starts (the yard): the first stop of "my work today" is the one
    # nearest to it. Empty: the day starts at the first request.
    start_lat = models.FloatField(null=True, blank=True)
    start_long = models.FloatField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["department__name", "name"]

    def __str__(self) -> str:
        return self.name


class AssignmentRule(MatchRule):
    """Which team of the routed department gets a type (or a whole group) in an area, chosen
    as routing rules are. A rule for a team of another department than the request's is never
    used. With no rule, the team whose territory holds the request (routing.Router)."""

    service_type = _rule_type("assignment_rules")
    area = _rule_area("assignment_rules")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="rules")

    class Meta(MatchRule.Meta):
        pass

    def __str__(self) -> str:
        return f"Assignment rule {self.pk}: {self.describe()} → {self.team}"


class WorkOrderStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("work order status", "To do")
    IN_PROGRESS = "in_progress", pgettext_lazy("work order status", "In progress")
    DONE = "done", pgettext_lazy("work order status", "Done")
    CANCELLED = "cancelled", pgettext_lazy("work order status", "Cancelled")


class WorkOrder(models.Model):
    """One piece of the work on a request (a visit, a crew's job): the request closes when the
    last of its work orders is done."""

    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="work_orders"
    )
    number = models.PositiveSmallIntegerField(help_text="1, 2, 3... within the request.")
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="work_orders",
        null=True,
        blank=True,
    )
    status = models.CharField(
        max_length=12, choices=WorkOrderStatus.choices, default=WorkOrderStatus.OPEN
    )
    # What was done, when it was (the last work order's words close the request).
    result = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["request", "number"]
        constraints = [
            models.UniqueConstraint(fields=["request", "number"], name="work_order_number")
        ]

    def __str__(self) -> str:
        return f"{self.request_id}/{self.number} {self.title}"

    @property
    def is_finished(self) -> bool:
        return self.status in (WorkOrderStatus.DONE, WorkOrderStatus.CANCELLED)
