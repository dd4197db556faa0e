"""Digests: a person's or a team's open and overdue work, by e-mail, daily or weekly.

`send_digests` runs every quarter hour (ops/schedules.py). From CITY311_DIGEST_HOUR of the
city's day it writes one Digest row per subscription and period (the day, or the ISO week from
Monday), then sends the pending rows through the outbox (`DigestSender`, its one send loop):
a run that comes late sends the current period's digest once; a period that passed entirely
unsent is not sent late (news of last week's queue is no news).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django_q.tasks import async_task

from city311.cities import profile
from city311.lib import outbox
from city311.lib.context import city as city_context
from city311.notifications import tasks
from city311.notifications.channels import Transport, transport_for
from city311.notifications.messages import Message, site_url
from city311.notifications.models import (
    Digest,
    DigestFrequency,
    DigestSubscription,
)
from city311.servicerequests.models import Channel, ServiceRequest

log = logging.getLogger(__name__)

# Requests listed in one digest; the count says how many more there are.
LISTED = 50


def period_of(subscription: DigestSubscription, now: datetime) -> str:
    """The period a digest sent at `now` covers, or "" before its first sending time."""
    local = timezone.localtime(now, profile.zone())
    if local.hour < settings.CITY311_DIGEST_HOUR:
        return ""
    if subscription.frequency == DigestFrequency.DAILY:
        return local.date().isoformat()
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def plan_digests(now: datetime | None = None) -> int:
    """Write the digests due now that are not written yet; idempotent."""
    now = now or timezone.now()
    rows = []
    for subscription in DigestSubscription.objects.filter(active=True):
        period = period_of(subscription, now)
        if period:
            rows.append(Digest(subscription=subscription, period=period, due_at=now))
    created = Digest.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)


def work_of(subscription: DigestSubscription) -> QuerySet[ServiceRequest]:
    """The open work a digest lists: overdue first, then by due date."""
    live = ServiceRequest.objects.unclosed().exclude(channel=Channel.IMPORT)
    if subscription.user_id is not None:
        live = live.filter(assignee_id=subscription.user_id)
    else:
        live = live.filter(department=subscription.department)
    return live.select_related("service_type").order_by("due_at", "requested_at")


def make_digest(digest: Digest, now: datetime) -> Message:
    subscription = digest.subscription
    work = work_of(subscription)
    requests = list(work[:LISTED])
    context = {
        **city_context(),
        "whose": (
            subscription.user.get_full_name() or subscription.user.get_username()
            if subscription.user is not None
            else str(subscription.department)
        ),
        "frequency": subscription.frequency,
        "open_count": work.count(),
        "overdue_count": work.filter(pk__in=ServiceRequest.objects.overdue(now)).count(),
        "requests": [(sr, sr.is_overdue(now), site_url(_work(sr))) for sr in requests],
        "queue_url": site_url(reverse("work:queue")),
    }
    with translation.override("en"), timezone.override(profile.zone()):
        subject = " ".join(render_to_string("notifications/digest/subject.txt", context).split())
        text = render_to_string("notifications/digest/body.txt", context).strip() + "\n"
        html = render_to_string("notifications/digest/body.html", context)
    return Message(
        subject=subject, text=text, html=html, sms="", unsubscribe_url=context["queue_url"]
    )


def _work(sr: ServiceRequest) -> str:
    return reverse("work:detail", args=[sr.tracking_number])


def send_digests(limit: int = 500) -> dict[str, int]:
    """The periodic task: write the digests that are due, and send the pending ones."""
    now = timezone.now()
    planned = plan_digests(now)
    transport = transport_for("email")
    try:
        sent, more = DigestSender(transport, now).send_due(limit)
    finally:
        transport.close()
    if more:
        async_task("city311.notifications.digests.send_digests")
    return {"planned": planned, "sent": sent}


class DigestSender(outbox.Sender[Digest]):
    """Digests by e-mail through the outbox's one send loop (city311.lib.outbox.Sender), retried
    by the deliveries' policy. When the mail server does not answer, the task ends."""

    model = Digest
    noun = "Digest"
    stop_when_down = True

    def __init__(self, transport: Transport, now: datetime) -> None:
        self.transport = transport
        self.now = now

    def due(self, down: set[Hashable]) -> QuerySet[Digest]:
        return Digest.objects.select_related("subscription__user", "subscription__department")

    def destination(self, digest: Digest) -> str:
        return "email"

    def policy(self) -> outbox.Policy:
        return tasks.policy()

    def attempt(self, digest: Digest) -> str:
        address = digest.subscription.address
        if not address or not digest.subscription.active:
            raise outbox.Cancel("no address" if not address else "subscription ended")
        message = make_digest(digest, self.now)
        return self.transport.send(address, message, key=f"digest-{digest.pk}")

    def sent(self, digest: Digest, detail: str) -> bool:
        outbox.mark_sent(digest, detail)
        log.info("Digest %s sent", digest.pk)
        return True
