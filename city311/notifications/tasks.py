"""Background work: turning events into deliveries, and sending them. Run by the task workers.

The Delivery table is the work queue. A worker claims one row at a time with a conditional
update (pending → sending); of two workers, only one gets the row. A claimed row is sent, then
marked sent or failed.

A worker killed between claiming and marking leaves the row "sending". The sweep gives such
rows back to the queue once their claim is older than CITY311_DELIVERY_LEASE_SECONDS (longer
than any send can take), so nothing is lost. The one window that can duplicate is after the
server accepted the message and before the row is marked sent (a few milliseconds): we choose
to send again rather than lose it, and send with the same Message-ID so mail systems can tell
the copy from a new message.
"""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone

from city311.notifications.actions import PLANNED, plan_deliveries
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

BATCH = 200
# Events older than this are never announced by the sweep: news that late is no news.
SWEEP_MAX_AGE = timedelta(days=2)


def handle_event(event_id: int) -> int:
    """The CITY311_EVENT_HANDLERS task: plan an event's deliveries, then send what is due.

    In a burst, events are queued faster than a worker runs tasks; so each task also plans the
    later events still waiting and sends everything due. The first task to run clears the
    burst, and the tasks behind it find their work done and return quickly.
    """
    plan_event(event_id)
    plan_waiting_events()
    return send_due_deliveries(limit=BATCH)


def plan_event(event_id: int) -> None:
    event = (
        RequestEvent.objects.select_related("request__department", "request__service_type")
        .filter(pk=event_id)
        .first()
    )
    if event is None or event.kind not in PLANNED:
        return
    if not HandledEvent.objects.filter(event_id=event_id).exists():
        with transaction.atomic():
            plan_deliveries(event)


def send_to_follower(follower_id: int) -> int:
    """Send what is due to one follower (the follow confirmation)."""
    return send_deliveries(Delivery.objects.filter(follower_id=follower_id))


def send_due_deliveries(limit: int = 1000) -> int:
    """Send every delivery that is due, oldest first."""
    return send_deliveries(Delivery.objects.all(), limit=limit)


def send_deliveries(deliveries: QuerySet[Delivery], limit: int = BATCH) -> int:
    """Claim and send the due ones among `deliveries`; the number sent."""
    now = timezone.now()
    # Oldest first, so one person's messages arrive in the order things happened.
    ids = list(
        deliveries.filter(status=Status.PENDING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    transports: dict[str, Transport] = {}
    # After a channel's server fails to answer, the rest of its batch waits for the next sweep
    # instead of each waiting out the same timeout.
    unreachable: set[str] = set()
    sent = 0
    try:
        for pk in ids:
            sent += send_one(pk, transports, unreachable)
    finally:
        for transport in transports.values():
            transport.close()
    return sent


def _claim(pk: int) -> Delivery | None:
    now = timezone.now()
    claimed = Delivery.objects.filter(pk=pk, status=Status.PENDING, due_at__lte=now).update(
        status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return Delivery.objects.select_related(
        "follower", "event", "request__service_type", "request__department"
    ).get(pk=pk)


def _finish(delivery: Delivery, **fields: object) -> None:
    # Only while our claim stands: a row the sweep handed to another worker is theirs now.
    Delivery.objects.filter(
        pk=delivery.pk, status=Status.SENDING, claimed_at=delivery.claimed_at
    ).update(**fields)


def send_one(pk: int, transports: dict[str, Transport], unreachable: set[str]) -> int:
    delivery = _claim(pk)
    if delivery is None:
        return 0
    follower = delivery.follower
    channel = delivery.channel
    address = follower.address(channel)
    if follower.unsubscribed_at is not None or not address:
        _finish(delivery, status=Status.CANCELLED, detail="stopped following")
        return 0
    if channel in unreachable:
        _finish(delivery, status=Status.PENDING, claimed_at=None, attempts=F("attempts") - 1)
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
        status=Status.PENDING, claimed_at=None, due_at=now
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
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in rows:
        plan_event(pk)
    covered = rows[-1] if len(rows) == limit else top
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
