"""Reads for staff screens."""

from __future__ import annotations

from typing import TypedDict

from django.utils import timezone

from city311.notifications.models import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    MessageKind,
    Role,
)
from city311.servicerequests.models import ServiceRequest


class DeliveryLine(TypedDict):
    at: object
    to: str
    message: str
    channel: str
    status: str
    summary: str


def _summary(d: Delivery) -> str:
    how = "e-mailed" if d.channel == DeliveryChannel.EMAIL else "SMS sent"
    what = "E-mail" if d.channel == DeliveryChannel.EMAIL else "SMS"
    if d.status == DeliveryStatus.SENT and d.sent_at:
        return f"{how} {timezone.localtime(d.sent_at):%H:%M}, {d.detail}"
    if d.status == DeliveryStatus.FAILED:
        return f"{what} failed: {d.error}"
    if d.status == DeliveryStatus.CANCELLED:
        return f"{what} not sent: {d.detail or 'stopped following'}"
    if d.attempts:
        return (
            f"{what} not sent yet: {d.error or 'being sent'}; next try "
            f"{timezone.localtime(d.due_at):%H:%M}"
        )
    return f"{what} waiting to be sent"


def deliveries_for(sr: ServiceRequest) -> list[DeliveryLine]:
    """Every message about a request, for staff: to whom by role (never the address), and how
    it went ("e-mailed 09:14, delivered to the SMTP server"; "SMS failed: invalid number")."""
    rows = (
        Delivery.objects.filter(request=sr).select_related("follower").order_by("created_at", "pk")
    )
    return [
        DeliveryLine(
            at=d.sent_at or d.created_at,
            to=Role(d.follower.role).label,
            message=MessageKind(d.kind).label if d.kind in MessageKind.values else d.kind,
            channel=DeliveryChannel(d.channel).label,
            status=d.status,
            summary=_summary(d),
        )
        for d in rows
    ]
