"""Open311 forwarding: requests of a type (or a department) filed on another GeoReport v2
server, and what that server says of them afterwards."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from city311.catalog.models import Department, ServiceType
from city311.lib import outbound
from city311.lib.outbox import OutboxItem, outbox_indexes
from city311.servicerequests.models import ServiceRequest


class Forwarding(models.Model):
    """A rule: requests of this type (or of this department) are filed on that server too."""

    name = models.CharField(max_length=100, help_text=_("The other side, e.g. 'County roads'."))
    base_url = models.URLField(
        "base URL",
        max_length=500,
        help_text=_("Its GeoReport v2 address, ending in '/': requests.json is added to it."),
    )
    api_key = models.CharField("API key", max_length=200, blank=True)
    jurisdiction_id = models.CharField(max_length=100, blank=True)
    service_type = models.ForeignKey(
        ServiceType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    remote_service_code = models.CharField(
        max_length=100, blank=True, help_text=_("Its service_code; empty: the same code as ours.")
    )
    internal = outbound.internal_field()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Where the last look at its updates reached: the next one reads from a little before.
    polled_upto = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(service_type__isnull=False) | Q(department__isnull=False),
                name="forwarding_type_or_department",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def applies_to(self, sr: ServiceRequest) -> bool:
        if self.service_type_id is not None:
            return sr.service_type_id == self.service_type_id
        return sr.department_id == self.department_id

    def url(self, resource: str) -> str:
        return self.base_url.rstrip("/") + "/" + resource


class ForwardedRequest(OutboxItem):
    """One request filed on one rule's server: the POST is the outbox row; then its remote id,
    and the remote updates already turned into history here."""

    forwarding = models.ForeignKey(Forwarding, on_delete=models.CASCADE, related_name="forwards")
    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="+")
    remote_id = models.CharField(max_length=100, blank=True)
    # A server that answers a POST with a token only: its id is asked for later.
    token = models.CharField(max_length=100, blank=True)
    remote_status = models.CharField(max_length=40, blank=True)
    # Update ids (or statuses, for servers without an updates feed) already recorded here.
    seen = models.JSONField(default=list, blank=True)
    remote_closed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["forwarding", "request"], name="forward_once"),
        ]
        indexes = [
            *outbox_indexes("forward"),
            # The poller's list: filed there, not yet closed there.
            models.Index(
                fields=["forwarding"],
                name="forward_watching",
                condition=Q(status="sent", remote_closed=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} to {self.forwarding_id} as {self.remote_id or '?'}"

    @property
    def link(self) -> str:
        ident = self.remote_id or self.token
        return self.forwarding.url(f"requests/{ident}.json") if ident else ""
