"""Every contact with the city, whatever came of it: an `Interaction`.

Handle time is measured, never typed: `end_interaction` stores it once, from the moment the
contact was answered (the console opened, or the phone system's "answered" event) to the moment
it ended, less the time on hold the phone system reported. Reports read the stored figure.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from city311.catalog.models import ServiceType
from city311.knowledge.models import Article
from city311.lib import phones
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.vocabulary import CONTACT_CHANNELS


class Kind(models.TextChoices):
    """NYC 311's split (Inquiry or Request for Service), with the other reasons people call."""

    INFORMATION = "information", _("Information only")
    NEW_REQUEST = "new_request", _("New request")
    STATUS_CHECK = "status_check", _("Status check")
    COMPLAINT = "complaint", _("Complaint about a request")
    TRANSFER = "transfer", _("Transfer or referral")


class WrapUp(models.TextChoices):
    """How the contact ended: the call taker's one choice, or what the phone system said."""

    ANSWERED = "answered", _("Answered")
    FILED = "filed", _("Request filed")
    FOLLOWED_EXISTING = "followed_existing", _("Follows an existing request")
    STATUS_GIVEN = "status_given", _("Status given")
    COMPLAINT_NOTED = "complaint_noted", _("Complaint noted")
    TRANSFERRED_911 = "transferred_911", _("Transferred to 911")
    TRANSFERRED = "transferred", _("Transferred or referred")
    CALLBACK = "callback", _("Call back needed")
    # A voicemail or callback request left after hours, answered by calling the resident
    # (city311.intake.callbacks): who called is the interaction's staff, when its end.
    CALLED_BACK = "called_back", _("Called back")
    DROPPED = "dropped", _("Caller hung up")
    ABANDONED = "abandoned", _("Abandoned before an answer")


class Interaction(models.Model):
    # The one vocabulary of channels (servicerequests.vocabulary.Channel), those a person answers.
    channel = models.CharField(
        max_length=10, choices=[(c.value, c.label) for c in CONTACT_CHANNELS]
    )
    # The caller as the channel knows them: a number in E.164 (city311.lib.phones) or an
    # e-mail address. Personal data: never in logs, public pages or exports.
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    # Empty until the contact ends: an open interaction has no kind yet.
    kind = models.CharField(max_length=14, choices=Kind.choices, blank=True)
    wrap_up = models.CharField(max_length=20, choices=WrapUp.choices, blank=True)
    service_type = models.ForeignKey(
        ServiceType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    article = models.ForeignKey(
        Article, on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions"
    )
    request = models.ForeignKey(
        ServiceRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
        db_index=False,  # interaction_request: only the interactions that have one
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
        db_index=False,  # interaction_open_by_staff covers the console's read
    )
    # The phone system's own id for the call (the webhook's call_id), unique per system.
    call_id = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    # When a person took it: the phone system's "answered", or the start for the console.
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    hold_seconds = models.PositiveIntegerField(default=0)
    # Measured by end_interaction: (ended - answered) - hold. Empty while open or unanswered.
    handle_seconds = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-started_at"]
        permissions = [("view_interactions", "Can see contacts and the call-centre reports")]
        constraints = [
            models.UniqueConstraint(
                fields=["call_id"], condition=~Q(call_id=""), name="interaction_one_per_call_id"
            ),
        ]
        indexes = [
            # The caller card: one number's contacts, newest first (contacts.queries.caller_card).
            models.Index(
                fields=["phone", "-started_at"], name="interaction_phone", condition=~Q(phone="")
            ),
            models.Index(
                fields=["email", "-started_at"], name="interaction_email", condition=~Q(email="")
            ),
            # The supervisor's view and the reports: contacts in a time window.
            models.Index(fields=["started_at"], name="interaction_started_at"),
            # The console: the call a call taker has in hand, with no outcome yet
            # (contacts.actions.current_for).
            models.Index(
                fields=["staff", "-started_at"],
                name="interaction_open_by_staff",
                condition=Q(kind=""),
            ),
            models.Index(
                fields=["request"], name="interaction_request", condition=Q(request__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        # Never the caller's number or address: this text can reach logs and admin messages.
        return f"Interaction {self.pk} ({self.channel})"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def phone_display(self) -> str:
        return phones.display(self.phone)

    @property
    def speed_of_answer_seconds(self) -> int | None:
        if self.answered_at is None:
            return None
        return max(0, round((self.answered_at - self.started_at).total_seconds()))
