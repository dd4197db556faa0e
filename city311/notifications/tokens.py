"""Signed links that work without signing in: unsubscribe, confirm following, the survey.

A token names the follower (and, for the survey, the closing event) and is signed with
SECRET_KEY: it cannot be guessed or changed, and holds no personal data.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.urls import reverse

from city311.notifications.models import Follower
from city311.servicerequests.models import RequestEvent

UNSUBSCRIBE = "city311.notifications.unsubscribe"
CONFIRM = "city311.notifications.confirm"
SURVEY = "city311.notifications.survey"


def make(salt: str, **values: Any) -> str:
    return signing.dumps(values, salt=salt, compress=True)


def read(salt: str, token: str) -> dict[str, Any] | None:
    """The values in a token, or None when it was not made by us for this purpose."""
    try:
        values = signing.loads(token, salt=salt)
    except signing.BadSignature:
        return None
    return values if isinstance(values, dict) else None


def unsubscribe_path(follower: Follower) -> str:
    return reverse("notifications:unsubscribe", args=[make(UNSUBSCRIBE, f=follower.pk)])


def confirm_path(follower: Follower) -> str:
    return reverse("notifications:confirm", args=[make(CONFIRM, f=follower.pk)])


def survey_path(follower: Follower, event: RequestEvent) -> str:
    return reverse("notifications:survey", args=[make(SURVEY, f=follower.pk, e=event.pk)])
