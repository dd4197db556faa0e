"""Reminders three days and one day before a booked pickup, through the notifications outbox.

Each reminder is a notifications `Delivery` to the booking request's reporter (kind
`pickup.reminder_3` or `pickup.reminder_1`, no event), rendered by the notifications'
`make_message` from templates/notifications/pickup_reminder_<n>/ in the resident's language and
sent by its workers with their retries and dead letter. The outbox's unique (follower, kind,
channel, about_day) is the idempotency key: planning again, from any number of workers, inserts
nothing new, so no one is reminded twice of one day. A booking moved to another day (by its
resident or by a route change) is a new day: its reminders are planned again for it, even when
one went out for the old day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from city311.cities import profile
from city311.lib.outbox import OutboxStatus
from city311.notifications.actions import reporter_follows
from city311.notifications.models import Delivery, Follower, Role
from city311.pickups.models import Booking, BookingRule, BookingStatus
from city311.servicerequests.models import RequestEvent
from city311.servicerequests.vocabulary import Event

DAYS_BEFORE = (3, 1)
_CHUNK = 5_000


def kind(days_before: int) -> str:
    return f"pickup.reminder_{days_before}"


def plan_reminders(now: datetime | None = None) -> int:
    """Queue the day's reminders (once the city's reminder hour has come); the rows inserted."""
    now = now or timezone.now()
    local = now.astimezone(profile.zone())
    if local.hour < BookingRule.current().reminder_hour:
        return 0
    return sum(plan_for_day(local.date() + timedelta(days=n), n) for n in DAYS_BEFORE)


def plan_for_day(day: date, days_before: int) -> int:
    """One delivery per channel to the reporter of each live booking on `day`."""
    planned = 0
    for requests in _chunks(
        Booking.objects.filter(day=day, status=BookingStatus.BOOKED).values_list(
            "request_id", flat=True
        )
    ):
        # Rows written before reminders carried their day (about_day empty) count as this day's.
        queued = Delivery.objects.filter(
            Q(about_day=day) | Q(about_day__isnull=True),
            request_id__in=requests,
            kind=kind(days_before),
        )
        done = set(queued.values_list("request_id", flat=True))
        waiting = [r for r in requests if r not in done]
        if not waiting:
            continue
        followers = _reporters(waiting)
        rows = [
            Delivery(
                follower=f,
                request_id=f.request_id,
                kind=kind(days_before),
                channel=channel,
                about_day=day,
            )
            for f in followers
            for channel in f.channels
        ]
        # Another worker planning at the same moment: the unique key keeps one of each.
        before = queued.count()
        Delivery.objects.bulk_create(rows, batch_size=1_000, ignore_conflicts=True)
        after = queued.count()
        planned += after - before
    return planned


def _chunks(ids: QuerySet[Booking, int]) -> Iterator[list[int]]:
    chunk: list[int] = []
    for request_id in ids.iterator(chunk_size=_CHUNK):
        chunk.append(request_id)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _reporters(requests: list[int]) -> list[Follower]:
    """Each request's reporter: the event stream made most at filing; the rest are made now
    (a booking filed while the notifications consumer was behind)."""
    found = list(
        Follower.objects.filter(
            request_id__in=requests, role=Role.REPORTER, unsubscribed_at__isnull=True
        )
    )
    missing = set(requests) - {f.request_id for f in found}
    if missing:
        for event in RequestEvent.objects.filter(
            request_id__in=missing, kind=Event.SUBMITTED
        ).select_related("request"):
            follower = reporter_follows(event.request, event)
            if follower is not None and follower.unsubscribed_at is None:
                found.append(follower)
    return found


def forget_pending(request_id: int) -> int:
    """A booking left its day: the reminders not yet sent for that day are no longer wanted
    (removed, so moving back plans them again). Those already sent stay in the record."""
    deleted, _counts = Delivery.objects.filter(
        request_id=request_id, kind__startswith="pickup.reminder", status=OutboxStatus.PENDING
    ).delete()
    return deleted
