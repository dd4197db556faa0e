"""Periodic work of the pickups (registered in city311.ops.schedules)."""

from __future__ import annotations

from django_q.tasks import async_task

from city311.lib.outbox import OutboxStatus
from city311.pickups.models import SubscriptionNotice
from city311.pickups.reminders import plan_reminders


def send_pickup_reminders() -> int:
    """Queue the D-3 and D-1 reminders that are due (idempotent), then have the notifications
    worker send them, behind the tasks already queued. Also the sweep of the address
    subscriptions' notices: retries that are due, any whose task was lost, and claims of a
    worker on another machine that died (send_notices gives those back after the lease)."""
    planned = plan_reminders()
    if planned:
        async_task("city311.notifications.tasks.send_due_deliveries")
    unsent = [OutboxStatus.PENDING, OutboxStatus.SENDING]
    if SubscriptionNotice.objects.filter(status__in=unsent).exists():
        async_task("city311.pickups.subscriptions.send_notices")
    return planned
