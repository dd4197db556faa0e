"""Background work on requests, run by the task queue's workers."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from city311.lib.batches import paced
from city311.servicerequests import stream
from city311.servicerequests.actions import escalate_request, note_overdue
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.sla import Sweep


def flag_overdue_requests(limit: int = 1000) -> int:
    """Record a history event on each unclosed request past its due date. Idempotent."""
    due = ServiceRequest.objects.overdue(timezone.now()).filter(overdue_noted_at__isnull=True)
    return sum(note_overdue(sr) for sr in due.order_by("due_at")[:limit])


def dispatch_events(
    since: int | None = None, *, pending: bool = False, queued: int | None = None
) -> dict[str, int]:
    """Hand new history events to every consumer of the event stream (stream.dispatch).

    Queued once per burst of commits that wrote events: with the first commit's first event
    id and the row later commits joined (`queued`) on a database queue, `pending` on Redis.
    Every minute by the schedule, without, as a backstop.
    """
    return stream.dispatch(since, pending=pending, queued=queued)


# The scheduler looks at its schedules every 30 seconds or so, and the sweep runs each minute:
# a level due before the next run gets an alarm of its own at its moment, so it is told within
# about 30 seconds, not up to 90. Longer than the time between two runs, so none is missed.
ALARM_AHEAD = timedelta(minutes=3)
# Requests escalated in one transaction.
SWEEP_BATCH = 100


def escalate_requests(limit: int = 1000) -> int:
    """Record the escalation levels requests reached since the last run; catch up exactly
    when late (one event, one message, per level). Then set the alarm for the next level."""
    from city311.ops.schedules import set_alarm

    now = timezone.now()
    due = ServiceRequest.objects.filter(escalation_due_at__lte=now).order_by("escalation_due_at")
    sweep = Sweep()
    found = list(due.values_list("pk", flat=True)[:limit])
    recorded = 0
    for at in paced(range(0, len(found), SWEEP_BATCH)):
        # A batch per transaction: one wake-up of the event stream for its events, not one
        # per request (a sweep catching up after a day away records thousands).
        with transaction.atomic():
            for sr in ServiceRequest.objects.filter(pk__in=found[at : at + SWEEP_BATCH]):
                recorded += escalate_request(sr, sweep=sweep)
    upcoming = (
        ServiceRequest.objects.filter(
            escalation_due_at__gt=now, escalation_due_at__lte=now + ALARM_AHEAD
        )
        .order_by("escalation_due_at")
        .values_list("escalation_due_at", flat=True)
        .first()
    )
    if upcoming is not None:
        set_alarm("city311.servicerequests.tasks.escalate_requests", upcoming)
    return recorded
