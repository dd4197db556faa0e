"""Background work: turning events into deliveries, and sending them. Run by the task workers.

The Delivery table is the work queue. A worker claims a few due rows at once with one
conditional update (pending → sending, stamped with a claim token of its own); of two workers,
only one gets each row. It reads back the rows carrying its token, sends them one by one over
one connection kept open across tasks, and marks each sent or failed as soon as the server
has answered.

A worker killed between claiming and marking leaves rows "sending" (at most CLAIM of them).
The sweep gives such rows back to the queue once their claim is older than
CITY311_DELIVERY_LEASE_SECONDS (longer than any send can take), so nothing is lost. The one
window that can duplicate is after the server accepted a message and before its row is marked
sent (a few milliseconds): we choose to send again rather than lose it, and send with the same
Message-ID so mail systems can tell the copy from a new message.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.dispatch import receiver
from django.utils import timezone
from django_q.tasks import async_task

from city311.notifications.actions import PLANNED, plan_many
from city311.notifications.channels import (
    PermanentFailure,
    TemporaryFailure,
    Transport,
    transport_for,
)
from city311.notifications.messages import make_message
from city311.notifications.models import Delivery, HandledEvent, Status, SweepCursor
from city311.servicerequests.models import Channel, RequestEvent

log = logging.getLogger(__name__)

# Events planned together: a burst of events costs a few queries, not a few per event.
PLAN_BATCH = 200
# Deliveries claimed by one update. More means fewer queries; but a worker killed mid-batch
# leaves its unsent claims waiting for the lease, so keep it small.
CLAIM = 20
# One task sends for at most this long, then leaves the rest to the tasks queued behind it.
SEND_SECONDS = 20.0
# Events older than this are never announced by the sweep: news that late is no news.
SWEEP_MAX_AGE = timedelta(days=2)

# One transport per channel and worker process, kept across tasks: an SMTP connection costs
# more than the message sent over it. A transport that fails closes its connection and opens
# a new one for the next message.
_transports: dict[str, Transport] = {}


def handle_event(event_id: int) -> int:
    """The CITY311_EVENT_HANDLERS task: plan an event's deliveries, then send what is due.

    In a burst, events are queued faster than a worker runs tasks; so each task also plans the
    later events still waiting and sends everything due. The first task to run clears the
    burst, and the tasks behind it find their work done and return after two queries.
    """
    plan_events_from(event_id)
    return send_due_deliveries()


def _event_rows() -> QuerySet[RequestEvent]:
    return RequestEvent.objects.select_related("request__department").filter(kind__in=PLANNED)


def plan_events_from(event_id: int) -> int:
    """Plan this event and the later ones not planned yet (their tasks are still queued)."""
    waiting = list(
        _event_rows()
        .filter(pk__gte=event_id)
        .exclude(pk__in=HandledEvent.objects.filter(event_id__gte=event_id).values("pk"))
        .order_by("pk")[:PLAN_BATCH]
    )
    if waiting:
        with transaction.atomic():
            plan_many(waiting)
    return len(waiting)


def send_to_follower(follower_id: int) -> int:
    """Send what is due to one follower (the follow confirmation)."""
    return send_deliveries(Delivery.objects.filter(follower_id=follower_id))


def send_due_deliveries(limit: int = 10_000) -> int:
    """Send every delivery that is due, oldest first.

    A backlog too long for one task is left to a new task queued behind the others, so the
    worker's other tasks are not held up and the backlog still drains without the sweep.
    """
    sent, more = _send(Delivery.objects.all(), limit=limit, transports=_transports)
    if more:
        async_task("city311.notifications.tasks.send_due_deliveries")
    return sent


def send_deliveries(
    deliveries: QuerySet[Delivery],
    *,
    limit: int = 10_000,
    transports: dict[str, Transport] | None = None,
) -> int:
    """Claim and send the due ones among `deliveries`, a few at a time; the number sent."""
    sent, _ = _send(
        deliveries, limit=limit, transports=_transports if transports is None else transports
    )
    return sent


def _send(
    deliveries: QuerySet[Delivery], *, limit: int, transports: dict[str, Transport]
) -> tuple[int, bool]:
    """The number sent, and whether SEND_SECONDS ran out with deliveries still due.

    A task that ran on for minutes would hold up the other tasks of its worker process.
    """
    deadline = time.monotonic() + SEND_SECONDS
    # After a channel's server fails to answer, the rest of its batch goes back to the queue
    # and the task ends: the next tries wait for the backoff, not for the next batch.
    unreachable: set[str] = set()
    sent = tried = 0
    while tried < limit and not unreachable:
        if time.monotonic() >= deadline:
            return sent, True
        batch = _claim(deliveries, min(CLAIM, limit - tried))
        if not batch:
            break
        tried += len(batch)
        sent += _send_batch(batch, transports, unreachable)
    return sent, False


def _claim(deliveries: QuerySet[Delivery], count: int) -> list[Delivery]:
    """Claim up to `count` due deliveries, oldest first; those this worker got."""
    now = timezone.now()
    # Oldest first, so one person's messages arrive in the order things happened.
    ids = list(
        deliveries.filter(status=Status.PENDING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:count]
    )
    if not ids:
        return []
    token = uuid.uuid4().hex
    # Conditional: a row another worker claimed in the meantime is no longer pending.
    Delivery.objects.filter(pk__in=ids, status=Status.PENDING, due_at__lte=now).update(
        status=Status.SENDING, claimed_at=now, claim=token, attempts=F("attempts") + 1
    )
    return list(
        Delivery.objects.select_related(
            "follower", "event", "request__service_type", "request__department"
        )
        .filter(pk__in=ids, status=Status.SENDING, claim=token)
        .order_by("due_at", "pk")
    )


def _finish(delivery: Delivery, **fields: object) -> None:
    # Only while our claim stands: a row the sweep handed to another worker is theirs now.
    Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING, claim=delivery.claim).update(
        **fields
    )


def _send_batch(
    batch: list[Delivery], transports: dict[str, Transport], unreachable: set[str]
) -> int:
    sent = 0
    for delivery in batch:
        if delivery.channel in unreachable:
            _finish(delivery, status=Status.PENDING, claimed_at=None, attempts=F("attempts") - 1)
            continue
        sent += send_one(delivery, transports, unreachable)
    return sent


def send_one(delivery: Delivery, transports: dict[str, Transport], unreachable: set[str]) -> int:
    """Send one claimed delivery and record how it went; 1 when it was sent."""
    follower = delivery.follower
    channel = delivery.channel
    address = follower.address(channel)
    if follower.unsubscribed_at is not None or channel not in follower.channels:
        _finish(delivery, status=Status.CANCELLED, detail="stopped following")
        return 0
    if channel not in transports:
        transports[channel] = transport_for(channel)
    try:
        message = make_message(delivery)
        detail = transports[channel].send(address, message, key=f"delivery-{delivery.pk}")
    except PermanentFailure as e:
        log.warning("Delivery %s failed for good: %s", delivery.pk, e)
        _finish(delivery, status=Status.FAILED, error=str(e))
        return 0
    except TemporaryFailure as e:
        if e.unreachable:
            unreachable.add(channel)
        _retry_later(delivery, str(e))
        return 0
    except Exception as e:
        # A bug or a database hiccup: retried like a temporary failure, and logged without the
        # exception's text or traceback, which might quote the address.
        frame = traceback.extract_tb(e.__traceback__)[-1]
        log.error(
            "Delivery %s could not be sent: %s at %s:%s",
            delivery.pk,
            type(e).__name__,
            frame.filename,
            frame.lineno,
        )
        _retry_later(delivery, f"internal error: {type(e).__name__}")
        return 0
    _finish(delivery, status=Status.SENT, sent_at=timezone.now(), detail=detail[:300], error="")
    log.info("Delivery %s sent by %s", delivery.pk, channel)
    return 1


def _retry_later(delivery: Delivery, error: str) -> None:
    """Exponential backoff; give up after CITY311_DELIVERY_MAX_ATTEMPTS with the error kept."""
    if delivery.attempts >= settings.CITY311_DELIVERY_MAX_ATTEMPTS:
        log.warning("Delivery %s failed after %s tries: %s", delivery.pk, delivery.attempts, error)
        _finish(delivery, status=Status.FAILED, error=error)
        return
    wait = min(
        settings.CITY311_DELIVERY_RETRY_SECONDS * 2 ** (delivery.attempts - 1),
        settings.CITY311_DELIVERY_RETRY_MAX_SECONDS,
    )
    log.info("Delivery %s will be retried in %ss: %s", delivery.pk, wait, error)
    _finish(
        delivery,
        status=Status.PENDING,
        claimed_at=None,
        due_at=timezone.now() + timedelta(seconds=wait),
        error=error,
    )


def release_stale_claims() -> int:
    """Give back rows claimed by a worker that died before marking them."""
    lease = timedelta(seconds=settings.CITY311_DELIVERY_LEASE_SECONDS)
    now = timezone.now()
    return Delivery.objects.filter(status=Status.SENDING, claimed_at__lt=now - lease).update(
        status=Status.PENDING, claimed_at=None, claim="", due_at=now
    )


def plan_waiting_events(limit: int = 500) -> int:
    """Plan events not planned yet: their task is still queued, or never ran (a crash)."""
    top = RequestEvent.objects.aggregate(top=Max("pk"))["top"] or 0
    cursor, _ = SweepCursor.objects.get_or_create(name="events")
    rows = list(
        RequestEvent.objects.filter(
            pk__gt=cursor.done_upto,
            pk__lte=top,
            kind__in=PLANNED,
            at__gte=timezone.now() - SWEEP_MAX_AGE,
        )
        .exclude(request__channel=Channel.IMPORT)
        .exclude(pk__in=HandledEvent.objects.filter(event_id__gt=cursor.done_upto).values("pk"))
        .select_related("request__department")
        .order_by("pk")[:limit]
    )
    for start in range(0, len(rows), PLAN_BATCH):
        with transaction.atomic():
            plan_many(rows[start : start + PLAN_BATCH])
    covered = rows[-1].pk if len(rows) == limit else top
    # Ids are handed out before commit: an event with a lower id may still become visible.
    # Looking at every id in two sweeps a schedule interval apart leaves time for it.
    done = max(cursor.done_upto, min(covered, cursor.seen_upto))
    SweepCursor.objects.filter(name="events").update(done_upto=done, seen_upto=covered)
    return len(rows)


def sweep() -> dict[str, int]:
    """The periodic task: missed events, abandoned claims, retries that are due."""
    released = release_stale_claims()
    handled = plan_waiting_events()
    sent = send_due_deliveries()
    return {"released": released, "handled": handled, "sent": sent}


def close_transports() -> None:
    """Close the connections this process keeps; the next message opens new ones."""
    for transport in _transports.values():
        transport.close()
    _transports.clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: object) -> None:
    # Tests change the e-mail backend or SMS provider: a kept connection would use the old one.
    if setting.startswith(("EMAIL_", "CITY311_SMS_", "TWILIO_")):
        close_transports()
