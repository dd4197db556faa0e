"""Who follows a request, the messages they are sent, and what they answer to the survey."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.template import Template, TemplateSyntaxError
from django.utils import timezone

from city311.catalog.models import Department, ServiceType
from city311.lib.outbox import OutboxItem, OutboxStatus, outbox_indexes
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.servicerequests.vocabulary import Event


class Role(models.TextChoices):
    REPORTER = "reporter", "Reporter"
    FOLLOWER = "follower", "Follower"
    # A department's shared mailbox: hears of urgent requests and residents' reopens only.
    DEPARTMENT = "department", "Department"
    # A staff member told of an escalation (the assignee, a supervisor, a manager).
    STAFF = "staff", "Staff"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "SMS"


class FollowerQuerySet(models.QuerySet["Follower"]):
    def active(self) -> FollowerQuerySet:
        return self.filter(unsubscribed_at__isnull=True, confirmed_at__isnull=False)


class Follower(models.Model):
    """Someone who hears about one request. Their address is personal data: never log it."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="followers")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.FOLLOWER)
    email = models.EmailField(blank=True)
    # E.164 (+17185550199), so an inbound STOP from a provider matches it.
    phone = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=8, default="en")  # one of settings.LANGUAGES
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # A follower hears of events recorded after this one (ids grow with time across requests).
    after_event_id = models.BigIntegerField(default=0)
    # The reporter and people an operator signs up are confirmed at once; anyone else confirms
    # once from the first message, so nobody can sign a stranger's address up for messages.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # One channel per person unless they asked for both: see `channels`.
    both_channels = models.BooleanField(
        "by e-mail and SMS",
        default=False,
        help_text="Every message both ways; otherwise e-mail, or SMS when there is no e-mail.",
    )
    # The number replied STOP: no texts to it until it replies START. The number is kept, so
    # START can find it again.
    sms_stopped_at = models.DateTimeField("SMS stopped at", null=True, blank=True)

    # What a stop marks their unsent messages with (notifications.actions.unsubscribe).
    stopped_detail = "stopped following"

    objects = FollowerQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "email"], condition=~Q(email=""), name="follower_one_email"
            ),
            models.UniqueConstraint(
                fields=["request", "phone"], condition=~Q(phone=""), name="follower_one_phone"
            ),
        ]
        # STOP by SMS: every follower with the phone number that wrote.
        indexes = [models.Index(fields=["phone"], name="follower_phone", condition=~Q(phone=""))]

    def __str__(self) -> str:
        # Never the address: this text can end up in logs and admin messages.
        return f"{self.get_role_display()} {self.pk} of {self.request_id}"

    @property
    def channels(self) -> list[str]:
        """How this follower hears: by e-mail when they gave an address, by SMS when they gave
        only a phone number; both ways only when they asked for both."""
        email = [DeliveryChannel.EMAIL.value] if self.email else []
        sms = [DeliveryChannel.SMS.value] if self.phone and self.sms_stopped_at is None else []
        if self.both_channels:
            return email + sms
        return email or sms

    def address(self, channel: str) -> str:
        return self.email if channel == DeliveryChannel.EMAIL else self.phone

    def outgoing(self) -> models.QuerySet[Delivery]:
        """The messages to them, sent or not."""
        return self.deliveries.all()


# A delivery's states are the outbox's: pending, sending, sent, failed (given up), cancelled.
DeliveryStatus = OutboxStatus


class Delivery(OutboxItem):
    """One message to one follower on one channel: the unit the workers send.

    The outbox columns (status, due_at, claim, attempts...) and how rows are claimed, retried
    and given up on are city311.lib.outbox's. The unique (follower, event, channel) is the
    idempotency key: however often an event is handled, a follower gets at most one message
    about it on each channel; without an event, (follower, kind, channel) and, for a message
    about a day (a pickup reminder), that day.
    """

    follower = models.ForeignKey(Follower, on_delete=models.CASCADE, related_name="deliveries")
    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="+")
    # Empty for messages that are not about an event (the follow confirmation).
    event = models.ForeignKey(
        RequestEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Which message: an event kind ("request.closed"), "follow.confirm", "department.urgent"...
    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=8, choices=DeliveryChannel.choices)
    # The day a reminder is about (a pickup's): a booking moved to another day is reminded
    # again for its new day, while a reminder already sent for the old one stays in the record.
    about_day = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["follower", "event", "channel"],
                condition=Q(event__isnull=False),
                name="delivery_once_per_event",
            ),
            models.UniqueConstraint(
                fields=["follower", "kind", "channel"],
                condition=Q(event__isnull=True, about_day__isnull=True),
                name="delivery_once_per_kind",
            ),
            models.UniqueConstraint(
                fields=["follower", "kind", "channel", "about_day"],
                condition=Q(event__isnull=True, about_day__isnull=False),
                name="delivery_once_per_kind_and_day",
            ),
        ]
        indexes = [
            # Due deliveries and dead workers' claims (city311.notifications.tasks).
            *outbox_indexes("delivery"),
            # The staff view of a request's messages (queries.deliveries_for).
            models.Index(fields=["request", "created_at"], name="delivery_request"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk}: {self.kind} by {self.channel}, {self.status}"


class MessageKind(models.TextChoices):
    """The messages an administrator can reword: one per kind of event people hear of, and a
    few that are not events."""

    SUBMITTED = Event.SUBMITTED, "Received"
    ROUTED = Event.ROUTED, "Routed"
    TRANSFERRED = Event.TRANSFERRED, "Transferred"
    STARTED = Event.STARTED, "In progress"
    NOTE = Event.NOTE, "Public note"
    CLOSED = Event.CLOSED, "Closed"
    REOPENED = Event.REOPENED, "Reopened"
    PARENT_CLOSED = Event.PARENT_CLOSED, "Merged request closed"
    FOLLOW_CONFIRM = "follow.confirm", "Follow confirmation"
    DEPARTMENT_URGENT = "department.urgent", "Urgent request (to the department)"
    DEPARTMENT_REOPENED = "department.reopened", "Reopened by the resident (to the department)"
    ESCALATED = Event.ESCALATED, "Escalation (to staff)"
    WORK_ORDER_HANDED_BACK = Event.WORK_ORDER_HANDED_BACK, "Work order handed back (to staff)"


class MessageTemplate(models.Model):
    """An administrator's wording of one message, replacing the built-in one.

    Django template syntax, with the same variables as the files under
    templates/notifications/. An empty part keeps the built-in wording for that part.
    """

    kind = models.CharField(max_length=40, choices=MessageKind.choices)
    language = models.CharField(max_length=8, default="en")  # one of settings.LANGUAGES
    service_type = models.ForeignKey(
        ServiceType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text="Empty for every service type.",
        related_name="+",
    )
    subject = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True, help_text="The e-mail's plain text.")
    html = models.TextField("HTML", blank=True, help_text="The e-mail's HTML.")
    sms = models.TextField(
        "SMS", blank=True, help_text="The SMS: keep it short, the link is added."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "language", "service_type"], name="template_one_per_type"
            ),
            models.UniqueConstraint(
                fields=["kind", "language"],
                condition=Q(service_type__isnull=True),
                name="template_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.language}, {self.service_type or 'any type'})"

    def clean(self) -> None:
        errors = {}
        for part in ("subject", "text", "html", "sms"):
            try:
                Template(getattr(self, part))
            except TemplateSyntaxError as e:
                errors[part] = f"This is not a valid template: {e}"
        if errors:
            raise ValidationError(errors)


class SurveyResponse(models.Model):
    """A follower's answer to the survey sent with a closed request."""

    follower = models.ForeignKey(Follower, on_delete=models.CASCADE, related_name="surveys")
    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="surveys")
    event = models.ForeignKey(RequestEvent, on_delete=models.CASCADE, related_name="+")
    fixed = models.BooleanField(null=True)
    satisfaction = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(default=timezone.now)
    reopened = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "event"], name="survey_once_per_close")
        ]

    def __str__(self) -> str:
        return f"Survey {self.pk} on {self.request_id}"


class DigestFrequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly (Mondays)"


class DigestSubscription(models.Model):
    """A person's or a team's digest of their open and overdue work, by e-mail.

    A person's lists the requests assigned to them; a department's (a team's, until teams
    exist) lists its requests and goes to its shared mailbox.
    """

    user = models.ForeignKey(
        "auth.User",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="digest_subscriptions",
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    frequency = models.CharField(
        max_length=8, choices=DigestFrequency.choices, default=DigestFrequency.WEEKLY
    )
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=True, department__isnull=False)
                | Q(user__isnull=False, department__isnull=True),
                name="digest_for_a_person_or_a_team",
            )
        ]

    def __str__(self) -> str:
        whose = self.user or self.department
        return f"{self.get_frequency_display()} digest for {whose}"

    def clean(self) -> None:
        if (self.user_id is None) == (self.department_id is None):
            raise ValidationError("Choose a person or a department, not both.")

    @property
    def address(self) -> str:
        if self.user is not None:
            return self.user.email
        return self.department.email if self.department is not None else ""


class Digest(OutboxItem):
    """One digest for one period ("2026-12-03", "2026-W49"): an outbox row, so a digest goes
    once per period however often, or late, the task runs."""

    subscription = models.ForeignKey(
        DigestSubscription, on_delete=models.CASCADE, related_name="digests"
    )
    period = models.CharField(max_length=12)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "period"], name="digest_once")
        ]
        indexes = outbox_indexes("digest")

    def __str__(self) -> str:
        return f"Digest {self.period} of subscription {self.subscription_id}, {self.status}"
