"""Background work on requests, run by the task queue's workers."""

from __future__ import annotations

from django.utils import timezone

from city311.servicerequests import stream
from city311.servicerequests.actions import note_overdue
from city311.servicerequests.models import ServiceRequest


def flag_overdue_requests(limit: int = 1000) -> int:
    """Record a history event on each unclosed request past its due date. Idempotent."""
    due = ServiceRequest.objects.overdue(timezone.now()).filter(overdue_noted_at__isnull=True)
    return sum(note_overdue(sr) for sr in due.order_by("due_at")[:limit])


def dispatch_events(since: int | None = None) -> dict[str, int]:
    """Hand new history events to every consumer of the event stream (stream.dispatch).

    Queued once per commit that wrote events, with the commit's first event id, and every
    minute by the schedule, without, as a backstop.
    """
    return stream.dispatch(since)
