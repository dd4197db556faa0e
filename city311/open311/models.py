"""Open311 API keys: one per application, stored hashed, each with its own rate limit."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone

from city311.lib.outbox import OutboxItem, outbox_indexes
from city311.servicerequests.models import Attachment, RequestEvent, ServiceRequest

DEFAULT_RATE_LIMIT = 120


def hash_key(raw: str) -> str:
    # Keys are long random strings, so a plain SHA-256 is enough and lets a POST find its key
    # with one indexed lookup (a slow password hash would not).
    return hashlib.sha256(raw.encode()).hexdigest()


class StatusWords(models.TextChoices):
    OPEN311 = "open311", "Open311: open or closed"
    FIXMYSTREET = "fixmystreet", "FixMyStreet: IN_PROGRESS, FIXED, DUPLICATE, …"


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def authenticate(self, raw: str) -> ApiKey | None:
        """The active key `raw` names, or None."""
        if not raw:
            return None
        return self.filter(key_hash=hash_key(raw), active=True).first()


class ApiKey(models.Model):
    application = models.CharField(
        max_length=120, help_text="The application's name, recorded on every request it sends."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The key's first characters, to tell keys apart in lists without keeping the key.
    prefix = models.CharField(max_length=8, editable=False)
    active = models.BooleanField(default=True, help_text="Untick to revoke the key.")
    created = models.DateTimeField(default=timezone.now, editable=False)
    rate_limit_per_minute = models.PositiveIntegerField(
        default=DEFAULT_RATE_LIMIT, help_text="Requests this key may POST per minute."
    )
    status_words = models.CharField(
        max_length=20,
        choices=StatusWords.choices,
        default=StatusWords.OPEN311,
        help_text="How the update feed names statuses when this key asks for it (api_key=).",
    )
    notifies_own_users = models.BooleanField(
        default=False,
        help_text="The application tells its own users about their requests: the city does "
        "not e-mail or text the people whose requests come with this key.",
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["application", "-created"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.application} ({self.prefix}…)"

    def set_new_key(self) -> str:
        """Give the key a fresh secret and return it: the only time it can be read."""
        raw = secrets.token_urlsafe(32)
        self.key_hash = hash_key(raw)
        self.prefix = raw[:8]
        return raw

    @classmethod
    def issue(
        cls, application: str, *, rate_limit_per_minute: int | None = None
    ) -> tuple[ApiKey, str]:
        key = cls(application=application.strip())
        if rate_limit_per_minute is not None:
            key.rate_limit_per_minute = rate_limit_per_minute
        raw = key.set_new_key()
        key.save()
        return key, raw


class ClientUpdate(models.Model):
    """An update an application posted (servicerequestupdates), by the application's own id:
    the same update posted again is answered with the first one's id and recorded once."""

    key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="updates")
    update_id = models.CharField(max_length=100)
    event = models.ForeignKey(
        "servicerequests.RequestEvent", on_delete=models.CASCADE, related_name="+"
    )
    received = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "update_id"], name="one_update_per_client_id")
        ]

    def __str__(self) -> str:
        return f"{self.key.application} update {self.update_id}"


class PhotoSource(models.TextChoices):
    # A link an application sent (FixMyStreet's media_url): CITY311_MEDIA_FETCH_HOSTS.
    LINK = "link", "A link an application sent"
    # A photo texted to the city's number (MMS): Twilio's media link, fetched with the
    # account's credentials from CITY311_MMS_MEDIA_HOSTS (city311.intake.texting).
    MMS = "mms", "A photo sent by text message"


class PhotoFetch(OutboxItem):
    """A photo an application linked (`media_url` of a request or update), or one texted to
    the city, to fetch and keep as the request's attachment: only from the hosts the city
    allows (open311/media.py)."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(RequestEvent, on_delete=models.CASCADE, related_name="+")
    url = models.URLField("URL", max_length=500)
    source = models.CharField(max_length=8, choices=PhotoSource.choices, default=PhotoSource.LINK)
    attachment = models.ForeignKey(
        Attachment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name_plural = "photo fetches"
        constraints = [
            models.UniqueConstraint(fields=["event", "url"], name="photofetch_once"),
        ]
        indexes = [*outbox_indexes("photofetch")]

    def __str__(self) -> str:
        return f"Photo of {self.request_id} from {self.url}"
