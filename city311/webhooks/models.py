"""Webhook endpoints the city registers, and the outbox of posts to them."""

from __future__ import annotations

import base64
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from city311.catalog.models import ServiceType
from city311.lib import outbound
from city311.lib.outbox import OutboxItem, OutboxStatus, outbox_indexes
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.servicerequests.vocabulary import Event

# What an endpoint may ask for. Contact views (an audit of staff reading personal data) and
# imports (history loads) are never sent.
KINDS: list[tuple[str, str]] = [
    (Event.SUBMITTED, "request.submitted — a request was filed"),
    (Event.ROUTED, "request.routed — sent to a department (internal)"),
    (Event.TRANSFERRED, "request.transferred — moved to another department (internal)"),
    (Event.RECLASSIFIED, "request.reclassified — its type changed (internal)"),
    (Event.ASSIGNED, "request.assigned — given to a person or team (internal)"),
    (Event.STARTED, "request.started — work started"),
    (Event.NOTE, "request.note — a note (its text only when public)"),
    (Event.CLOSED, "request.closed"),
    (Event.REOPENED, "request.reopened"),
    (Event.OVERDUE, "request.overdue"),
    (Event.ESCALATED, "request.escalated — an SLA level was reached (internal)"),
    (Event.PAUSED, "request.paused — SLA clock stopped"),
    (Event.RESUMED, "request.resumed — SLA clock started again"),
    (Event.MERGED, "request.merged — a duplicate was merged in"),
    (Event.LOCATION_VERIFIED, "request.location_verified"),
    (Event.WORK_ORDER_ADDED, "request.work_order_added"),
    (Event.WORK_ORDER_DONE, "request.work_order_done"),
    (Event.FORWARDED, "request.forwarded — sent to another Open311 server"),
    (Event.REMOTE_UPDATE, "request.remote_update — the other Open311 server's news"),
]
SENDABLE = frozenset(kind for kind, _label in KINDS)


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookEndpoint(models.Model):
    """Where the city wants to hear of requests' events: a URL, its secret, what it wants."""

    name = models.CharField(max_length=100, help_text=_("Who receives it, e.g. 'Cityworks'."))
    url = models.URLField("URL", max_length=500, help_text=_("Receives a POST of JSON per event."))
    secret = models.CharField(
        max_length=100,
        default=new_secret,
        help_text=_("Signs each post (Standard Webhooks). Give it to the receiver."),
    )
    kinds = models.JSONField(
        default=list,
        blank=True,
        help_text=_("The event kinds it receives; none chosen: every kind offered."),
    )
    service_types = models.ManyToManyField(
        ServiceType,
        blank=True,
        related_name="+",
        help_text=_("Only requests of these types; none chosen: every type."),
    )
    internal = outbound.internal_field()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Health, for the admin's list: how the last tries went.
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    failures_in_a_row = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.name

    def wants(self, kind: str) -> bool:
        return kind in SENDABLE and (not self.kinds or kind in self.kinds)


class WebhookPost(OutboxItem):
    """One event posted to one endpoint. Its id is the webhook-id on every try and replay."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="posts")
    event = models.ForeignKey(RequestEvent, on_delete=models.CASCADE, related_name="+")
    # The event's request, kept here so that a post waits for the earlier ones of its request.
    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=40)
    # The JSON sent, built when the event was read: every try sends the same bytes.
    body = models.TextField()

    class Meta:
        constraints = [
            # At most one post per event and endpoint: the stream gives an event at least once.
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhookpost_once"),
        ]
        indexes = [
            *outbox_indexes("webhookpost"),
            # For the claim's "no earlier post of this request is still on its way, or dead
            # and waiting for its replay" (tasks.sendable).
            models.Index(
                fields=["endpoint", "request", "event"],
                name="webhookpost_unsent",
                condition=Q(
                    status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED]
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} to {self.endpoint_id}"

    @property
    def webhook_id(self) -> str:
        return f"msg_city311_{self.pk}"
