"""Digests: a person's or a team's open and overdue work, by e-mail, daily or weekly.

`send_digests` runs every quarter hour (ops/schedules.py). From CITY311_DIGEST_HOUR of the
city's day it writes one Digest row per subscription and period (the day, or the ISO week from
Monday), then sends the pending rows through the outbox: a run that comes late sends the
current period's digest once; a period that passed entirely unsent is not sent late (news of
last week's queue is no news).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from city311.cities import profile
from city311.lib import outbox
from city311.lib.context import city as city_context
from city311.notifications.channels import PermanentFailure, TemporaryFailure, transport_for
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
    outbox.release_dead(Digest.objects.all())
    transport = transport_for("email")
    sent = 0
    pending = Digest.objects.select_related("subscription__user", "subscription__department")
    while sent < limit:
        batch = outbox.claim(pending, 20)
        if not batch:
            break
        for digest in batch:
            sent += _send(digest, transport, now)
    return {"planned": planned, "sent": sent}


def _send(digest: Digest, transport: object, now: datetime) -> int:
    address = digest.subscription.address
    if not address or not digest.subscription.active:
        outbox.cancel(digest, "no address" if not address else "subscription ended")
        return 0
    try:
        detail = transport.send(  # type: ignore[attr-defined]
            address, make_digest(digest, now), key=f"digest-{digest.pk}"
        )
    except PermanentFailure as e:
        outbox.give_up(digest, str(e))
        return 0
    except TemporaryFailure as e:
        from city311.notifications.tasks import policy

        outbox.retry_later(digest, str(e), policy())
        return 0
    outbox.mark_sent(digest, detail)
    log.info("Digest %s sent", digest.pk)
    return 1
