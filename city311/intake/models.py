"""E-mail to 311: each message received, what became of it, and its files.

A message's sender and text are personal data: never in logs, public pages or exports
(`__str__` says neither). Files that are not photos stay here, never served to the public.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from city311.catalog.models import ServiceType
from city311.contacts.models import Interaction
from city311.servicerequests.models import ServiceRequest


class MailStatus(models.TextChoices):
    # A new message with no request yet: in the call takers' queue.
    WAITING = "waiting", _("Waiting for a call taker")
    # Filed as a request, directly (type and place certain) or by a call taker.
    FILED = "filed", _("Filed as a request")
    # A reply: added to its request's history.
    THREADED = "threaded", _("Added to its request")
    # An auto-reply, bounce or list mail: set aside, nothing created or reopened.
    AUTOMATIC = "automatic", _("Set aside (sent by a machine)")
    QUARANTINED = "quarantined", _("Quarantined as likely spam")
    # Handled by a call taker without a request (answered, or not for the city).
    CLOSED = "closed", _("Handled")


class InboundMail(models.Model):
    message_id = models.CharField(max_length=255, blank=True)
    in_reply_to = models.TextField(blank=True)
    sender = models.EmailField(blank=True)
    subject = models.CharField(max_length=255, blank=True)
    # The sender's own words (quoted text cut off), and the whole text as received.
    text = models.TextField(blank=True)
    full_text = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=MailStatus.choices)
    # Why it was set aside or quarantined: a header name, or the spam score's reasons.
    reason = models.CharField(max_length=200, blank=True)
    spam_score = models.FloatField(default=0)
    service_type = models.ForeignKey(
        ServiceType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    address_string = models.CharField(max_length=255, blank=True)
    request = models.ForeignKey(
        ServiceRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="mails"
    )
    interaction = models.ForeignKey(
        Interaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The history event a reply became (internal unless staff published it).
    event_id_recorded = models.BigIntegerField(null=True, blank=True)
    published = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"], condition=~Q(message_id=""), name="mail_one_per_message_id"
            ),
        ]
        indexes = [models.Index(fields=["status", "-received_at"], name="mail_status")]

    def __str__(self) -> str:
        return f"Mail {self.pk} ({self.status})"


class MailFile(models.Model):
    """A file that came with a message: kept privately (photos also go to the request)."""

    mail = models.ForeignKey(InboundMail, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    data = models.BinaryField()
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"File {self.pk} of mail {self.mail_id}"
