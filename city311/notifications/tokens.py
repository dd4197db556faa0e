"""Signed links that work without signing in: unsubscribe, confirm following, the survey.

A token names what the link acts on (the follower and, for the survey, the closing event) and
is signed with SECRET_KEY and a salt per kind of link: it cannot be guessed, changed or used
for another purpose, and holds no personal data.

Every link expires, and when is decided by what it acts on, at the moment it is opened: each
`LinkKind` has a `lifetime` that reads the link's values and when it was sent. A survey link
lasts a while after the closing it asks about; a link in a message lasts a while after the
message. A link that acts on something with a deadline of its own lives until that deadline,
e.g. a link that cancels a pickup booking::

    CANCEL_BOOKING = LinkKind(
        "city311.pickups.cancel", "pickups:cancel",
        lifetime=lambda values, sent: Booking.objects.get(pk=values["b"]).cutoff,
    )

so rescheduling the booking moves the link's end with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from city311.notifications.models import Follower
from city311.servicerequests.models import RequestEvent

# When a link stops working, from its values and when it was made.
Lifetime = Callable[[dict[str, Any], datetime], datetime]


@dataclass(frozen=True)
class LinkKind:
    salt: str
    url_name: str
    lifetime: Lifetime

    @property
    def name(self) -> str:
        """What the link does: unsubscribe, confirm or survey."""
        return self.url_name.rpartition(":")[2]


@dataclass(frozen=True)
class Link:
    """A link we made, opened: what it says, when it was sent and until when it works."""

    kind: LinkKind
    values: dict[str, Any]
    sent_at: datetime
    expires_at: datetime

    @property
    def expired(self) -> bool:
        return timezone.now() >= self.expires_at


def _days_after_sending(setting: str) -> Lifetime:
    return lambda values, sent: sent + timedelta(days=getattr(settings, setting))


def _survey_lifetime(values: dict[str, Any], sent: datetime) -> datetime:
    """A while after the closing it asks about, however late the message went out."""
    closed = RequestEvent.objects.filter(pk=values.get("e", 0)).values_list("at", flat=True)
    return (closed.first() or sent) + timedelta(days=settings.CITY311_LINK_SURVEY_DAYS)


UNSUBSCRIBE = LinkKind(
    "city311.notifications.unsubscribe",
    "notifications:unsubscribe",
    _days_after_sending("CITY311_LINK_UNSUBSCRIBE_DAYS"),
)
CONFIRM = LinkKind(
    "city311.notifications.confirm",
    "notifications:confirm",
    _days_after_sending("CITY311_LINK_CONFIRM_DAYS"),
)
SURVEY = LinkKind("city311.notifications.survey", "notifications:survey", _survey_lifetime)


def make(kind: LinkKind, **values: Any) -> str:
    return reverse(kind.url_name, args=[signing.dumps(values, salt=kind.salt, compress=True)])


def read(kind: LinkKind, token: str) -> Link | None:
    """The link a token is, expired or not; None when we did not make it for this purpose."""
    try:
        values = signing.loads(token, salt=kind.salt)
    except signing.BadSignature:
        return None
    if not isinstance(values, dict):
        return None
    # The signature holds, so the time stamped beside it (value:time:signature) is ours.
    sent = datetime.fromtimestamp(signing.b62_decode(token.rsplit(":", 2)[1]), tz=UTC)
    return Link(kind, values, sent, kind.lifetime(values, sent))


def unsubscribe_path(follower: Follower) -> str:
    return make(UNSUBSCRIBE, f=follower.pk)


def confirm_path(follower: Follower) -> str:
    return make(CONFIRM, f=follower.pk)


def survey_path(follower: Follower, event: RequestEvent) -> str:
    return make(SURVEY, f=follower.pk, e=event.pk)
