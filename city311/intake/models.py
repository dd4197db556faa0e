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


# Texting conversations


class TextStep(models.TextChoices):
    WHAT = "what", "Which type"
    WHERE = "where", "Where"
    QUESTION = "question", "A required question"
    DUPLICATE = "duplicate", "Follow one of these, or new"
    DONE = "done", "Filed or followed"
    EXPIRED = "expired", "Expired without a reply"


class TextConversation(models.Model):
    """One report by text, asked one thing at a time (city311.intake.texting)."""

    # E.164; personal data: never in logs, public pages or exports.
    phone = models.CharField(max_length=20)
    language = models.CharField(max_length=8, default="en")
    step = models.CharField(max_length=10, choices=TextStep.choices, default=TextStep.WHAT)
    description = models.TextField(blank=True)
    service_code = models.CharField(max_length=64, blank=True)
    # The types offered by number when the words did not point at one type.
    choices = models.JSONField(default=list, blank=True)
    address_string = models.CharField(max_length=200, blank=True)
    lat = models.FloatField(null=True, blank=True)
    long = models.FloatField(null=True, blank=True)
    location_match = models.CharField(max_length=20, blank=True)
    location_confidence = models.FloatField(null=True, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    # The tracking numbers offered as "Reply 1 or 2 to follow one of these".
    offered = models.JSONField(default=list, blank=True)
    # An MMS photo: Twilio's link (MediaUrl0), fetched into the request's photos once filed
    # (open311.media.fetch_texted_photo); never the request's public media_url.
    media_url = models.URLField("media URL", max_length=500, blank=True)
    messages = models.PositiveSmallIntegerField(default=0)
    request = models.ForeignKey(
        "servicerequests.ServiceRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["phone", "-updated_at"], name="textconv_phone")]

    def __str__(self) -> str:
        return f"Text conversation {self.pk} ({self.step})"


class InboundText(models.Model):
    """Each text Twilio delivered, by its MessageSid: a re-delivery gets the same reply."""

    message_sid = models.CharField(max_length=64, unique=True)
    conversation = models.ForeignKey(
        TextConversation, on_delete=models.CASCADE, null=True, blank=True, related_name="texts"
    )
    reply = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Inbound text {self.pk}"


class Voicemail(models.Model):
    """A caller's message after hours: the console's open interaction to call back."""

    call_sid = models.CharField(max_length=64, unique=True)
    interaction = models.OneToOneField(
        "contacts.Interaction", on_delete=models.CASCADE, related_name="voicemail"
    )
    recording_url = models.URLField("recording URL", max_length=500, blank=True)
    recording_seconds = models.PositiveIntegerField(null=True, blank=True)
    transcription = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Voicemail {self.pk}"
