"""Background work: turning events into deliveries, and sending them. Run by the task workers.

Events reach notifications through the event stream (servicerequests/stream.py): `handle_events`
is the notifications consumer, registered in apps.py. It plans deliveries and queues a send.

The Delivery table is an outbox (city311.lib.outbox): a worker claims a few due rows at once
with one conditional update stamped with a claim token, sends them one by one over one
connection kept open across tasks, and marks each sent or failed as soon as the server has
answered, only while its claim stands.

A worker killed between claiming and marking leaves rows "sending" (at most CLAIM of them).
Each claim names the process that holds it, so a restarted worker (and the sweep, and the next
send) gives the rows of a process that is gone back to the queue at once; rows held on another
machine go back once their claim is older than CITY311_DELIVERY_LEASE_SECONDS (longer than any
send can take). Nothing is lost. The one window that can duplicate is after the server accepted
a message and before its row is marked sent: the row is marked the moment the server says yes,
and when the database cannot be reached just then the mark is tried again for a while
(MARK_SECONDS) rather than given up. We choose to send again rather than lose a message, and
send with the same Message-ID so mail systems can tell the copy from a new message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Sequence
from datetime import timedelta

from django.conf import settings
from django.core.signals import setting_changed
from django.db import DatabaseError, InterfaceError, close_old_connections, connection
from django.db.models import QuerySet
from django.dispatch import receiver
from django.utils import timezone
from django_q.tasks import async_task

from city311.lib import outbox
from city311.notifications.actions import plan_many
from city311.notifications.channels import Transport, transport_for
from city311.notifications.messages import make_message
from city311.notifications.models import Delivery
from city311.servicerequests.models import Channel, RequestEvent

log = logging.getLogger(__name__)

# Events planned together: a burst of events costs a few queries, not a few per event.
PLAN_BATCH = 200
# Deliveries claimed by one update. More means fewer queries; but a worker killed mid-batch
# leaves its unsent claims waiting for the lease, so keep it small.
CLAIM = 20
# One task sends for at most this long, then leaves the rest to the tasks queued behind it.
SEND_SECONDS = 20.0
# After a message was accepted, marking it sent is retried for this long while the database
# is away (a restart, a lock): giving up means sending it again later.
MARK_SECONDS = 30.0
# Events older than this are never announced: news that late is no news (a worker that was
# down for days, a request filed with a date in the past).
NEWS_MAX_AGE = timedelta(days=2)

# What a message reads besides the delivery, loaded with each claimed batch in its one query.
# Apps whose messages read more of the request add it in their AppConfig.ready (the pickups'
# reminders read the booking), so notifications imports none of them.
MESSAGE_READS: list[str] = ["follower", "event", "request__service_type", "request__department"]

# One transport per channel and worker process, kept across tasks: an SMTP connection costs
# more than the message sent over it. A transport that fails closes its connection and opens
# a new one for the next message.
_transports: dict[str, Transport] = {}


def policy() -> outbox.Policy:
    """How deliveries are retried: the CITY311_DELIVERY_* settings, read when used."""
    return outbox.Policy(
        max_attempts=settings.CITY311_DELIVERY_MAX_ATTEMPTS,
        retry_seconds=settings.CITY311_DELIVERY_RETRY_SECONDS,
        retry_max_seconds=settings.CITY311_DELIVERY_RETRY_MAX_SECONDS,
        lease_seconds=settings.CITY311_DELIVERY_LEASE_SECONDS,
    )


def handle_events(events: Sequence[RequestEvent]) -> int:
    """The notifications consumer of the event stream: plan who is told.

    Runs in the stream's transaction; idempotent, like plan_many. Imported history and stale
    news tell nobody. The stream then calls send_due_deliveries in the same task (the
    consumer's `then`), so the first task of a burst sends what it planned.
    """
    recent = timezone.now() - NEWS_MAX_AGE
    news = [e for e in events if e.at >= recent and e.request.channel != Channel.IMPORT]
    return plan_many(news) if news else 0


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


class DeliverySender(outbox.Sender[Delivery]):
    """Deliveries through their channels' transports (city311.lib.outbox.Sender)."""

    model = Delivery
    noun = "Delivery"
    claim_size = CLAIM
    seconds = SEND_SECONDS
    # After a channel's server fails to answer, the rest of its batch goes back to the queue
    # and the task ends: the next tries wait for the backoff, not for the next batch.
    stop_when_down = True

    def __init__(self, deliveries: QuerySet[Delivery], transports: dict[str, Transport]) -> None:
        self.deliveries = deliveries
        self.transports = transports

    def due(self, down: set[Hashable]) -> QuerySet[Delivery]:
        return self.deliveries.select_related(*MESSAGE_READS)

    def destination(self, delivery: Delivery) -> str:
        return delivery.channel

    def policy(self) -> outbox.Policy:
        return policy()

    def attempt(self, delivery: Delivery) -> str:
        follower, channel = delivery.follower, delivery.channel
        if follower.unsubscribed_at is not None or channel not in follower.channels:
            raise outbox.Cancel("stopped following")
        if channel not in self.transports:
            self.transports[channel] = transport_for(channel)
        message = make_message(delivery)
        address = follower.address(channel)
        return self.transports[channel].send(address, message, key=f"delivery-{delivery.pk}")

    def sent(self, delivery: Delivery, detail: str) -> bool:
        mark_sent(delivery, detail)
        # One line a message is for debugging; the task says how many it sent (`_send`).
        log.debug("Delivery %s sent by %s", delivery.pk, delivery.channel)
        return True


def _send(
    deliveries: QuerySet[Delivery], *, limit: int, transports: dict[str, Transport]
) -> tuple[int, bool]:
    """The number sent, and whether SEND_SECONDS ran out with deliveries still due."""
    sent, more = DeliverySender(deliveries, transports).send_due(limit)
    if sent:
        # A line a task, not a message: a burst of news (the demo's first minutes, a storm's
        # closures) would otherwise bury everything else the log says.
        log.info("Sent %s message%s to residents and staff", sent, "" if sent == 1 else "s")
    return sent, more


def mark_sent(delivery: Delivery, detail: str) -> None:
    """Record that the far side took it, trying again while the database is away."""
    deadline = time.monotonic() + MARK_SECONDS
    wait = 0.1
    while True:
        try:
            outbox.mark_sent(delivery, detail)
            return
        except (DatabaseError, InterfaceError) as e:
            if time.monotonic() + wait > deadline or connection.in_atomic_block:
                log.error("Delivery %s was sent but could not be marked: %s", delivery.pk, e)
                raise
            log.warning("Delivery %s was sent; marking it waits for the database", delivery.pk)
        time.sleep(wait)
        wait = min(wait * 2, 2.0)
        # A connection the database dropped is closed here and opened anew by the next query.
        close_old_connections()


def release_stale_claims() -> int:
    """Give back rows claimed by a worker that died before marking them."""
    return outbox.release_stale(Delivery.objects.all(), policy())


def sweep() -> dict[str, int]:
    """The periodic task: abandoned claims, retries that are due. (Missed events are the
    event stream's own schedule: city311.servicerequests.tasks.dispatch_events.)"""
    released = outbox.release_dead(Delivery.objects.all()) + release_stale_claims()
    sent = send_due_deliveries()
    return {"released": released, "sent": sent}


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
