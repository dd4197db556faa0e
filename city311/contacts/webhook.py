"""The generic call-events webhook: a phone system (Twilio, an on-premises PBX) tells the city
a call started, was answered and ended; the call taker's console pops the caller's card and
the contact is timed by the phone system's clock, hold time deducted.

The body is JSON, signed with HMAC-SHA256 over "<timestamp>.<body>" with the shared secret
CITY311_CALL_EVENTS_SECRET: headers X-City311-Timestamp (Unix seconds) and
X-City311-Signature ("sha256=<hex>"). A bad or stale signature is refused (401) before the
body is read. docs/call-centre.md has the contract and an example.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from city311.contacts import actions
from city311.contacts.models import Interaction
from city311.servicerequests.vocabulary import Channel

logger = logging.getLogger(__name__)

EVENTS = ("started", "answered", "ended")
# How old a signed event may be: a captured request cannot be replayed later than this.
TOLERANCE_S = 300


class BadEvent(ValueError):
    pass


class UnknownAgent(BadEvent):
    """The event names a call taker the city does not know: refused (422), nothing changed,
    so the phone system's log shows it and a retry after the fix lands."""


def sign(body: bytes, timestamp: str, secret: str) -> str:
    """The signature a sender puts in X-City311-Signature."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _signed(request: HttpRequest, secret: str) -> bool:
    timestamp = request.headers.get("X-City311-Timestamp", "")
    given = request.headers.get("X-City311-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_S:
        return False
    return hmac.compare_digest(sign(request.body, timestamp, secret), given)


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def call_event(request: HttpRequest) -> JsonResponse:
    secret = settings.CITY311_CALL_EVENTS_SECRET
    if not secret:
        return _error("Call events are not set up: set CITY311_CALL_EVENTS_SECRET.", 404)
    if not _signed(request, secret):
        return _error(
            "Bad signature: sign '<timestamp>.<body>' with HMAC-SHA256 and the shared secret, "
            "within five minutes.",
            401,
        )
    try:
        event = json.loads(request.body)
        if not isinstance(event, dict):
            raise BadEvent("The body must be a JSON object.")
        interaction, unknown = _apply(event)
    except UnknownAgent as e:
        return _error(str(e), 422)
    except (ValueError, BadEvent) as e:
        return _error(str(e), 400)
    reply: dict[str, Any] = {
        "interaction": interaction.pk,
        "answered": interaction.answered_at is not None,
        "ended": interaction.ended_at is not None,
        "handle_seconds": interaction.handle_seconds,
    }
    if unknown is not None:
        reply["warning"] = f"The call is closed. {unknown}"
    return JsonResponse(reply)


def _apply(event: dict[str, Any]) -> tuple[Interaction, UnknownAgent | None]:
    """The event applied to its call, and the unknown call taker an "ended" named, if any."""
    kind = event.get("event")
    call_id = str(event.get("call_id") or "")[:100]
    if kind not in EVENTS:
        raise BadEvent(f"'event' must be one of: {', '.join(EVENTS)}.")
    if not call_id:
        raise BadEvent("'call_id' is required: the phone system's id for the call.")
    at = _moment(event.get("at"))
    unknown = None
    try:
        staff = _staff(event)
    except UnknownAgent as e:
        # "ended" is the phone system's last word on the call, and it is sent once: refused,
        # the call would stay open on the figures until someone resent it by hand. Its end
        # and hold are facts whoever took it, so the call is closed and the reply (200, as
        # for any event applied) says who to set up; a call an agent took is not abandoned.
        # "started" and "answered" are refused (422), so the console of nobody pops.
        if kind != "ended":
            raise
        logger.warning("Call event 'ended' names an unknown call taker: %s", e)
        staff, unknown = None, e
    found = Interaction.objects.filter(call_id=call_id).first()
    if found is None:
        try:
            with transaction.atomic():
                found = actions.start_interaction(
                    channel=Channel.PHONE,
                    phone=str(event.get("from") or "")[:40],
                    call_id=call_id,
                    at=at,
                    answered=False,
                )
        except IntegrityError:  # the same event twice at once: the other one made it
            found = Interaction.objects.get(call_id=call_id)
    if kind == "answered":
        found = actions.answer_interaction(found, by=staff, at=at)
    elif kind == "ended":
        if found.answered_at is None and (staff is not None or unknown is not None):
            found = actions.answer_interaction(found, by=staff, at=at)
        found = actions.hang_up(found, at=at, hold_seconds=_hold(event.get("hold_seconds")))
    return found, unknown


def _moment(value: Any) -> datetime:
    if value in (None, ""):
        return timezone.now()
    parsed = parse_datetime(str(value))
    if parsed is None or parsed.tzinfo is None:
        raise BadEvent(
            "'at' must be an ISO 8601 time with its offset, such as 2026-03-02T14:05:09Z."
        )
    return parsed


def _hold(value: Any) -> int:
    if value in (None, ""):
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadEvent("'hold_seconds' must be a whole number of seconds, 0 or more.")
    return value


def _staff(event: dict[str, Any]) -> User | None:
    """The call taker who answered: by "agent" (the extension or the phone system's agent id,
    set on the staff member's profile in the admin) or by "user" (a city311 username).
    Someone the city does not know is an UnknownAgent: the call would pop on no console."""
    agent, username = event.get("agent"), event.get("user")
    if agent not in (None, "") and username not in (None, ""):
        raise BadEvent("Name the call taker once: 'agent' (extension) or 'user' (username).")
    if agent not in (None, ""):
        if isinstance(agent, bool) or not isinstance(agent, str | int):
            raise BadEvent("'agent' must be the extension or agent id, a string or a number.")
        extension = str(agent).strip()[:200]
        if not extension:
            raise BadEvent("'agent' must be the extension or agent id, not blank.")
        # Whatever the case, as the profile's unique index reads it (one_staff_per_extension).
        agent_found: User | None = (
            User.objects.alias(extension=Lower("staff_profile__extension"))
            .filter(extension=extension.lower(), is_active=True)
            .exclude(staff_profile__extension="")
            .first()
        )
        if agent_found is None:
            raise UnknownAgent(
                f"No active staff member has the extension or agent id '{extension}': "
                "set it on their profile in the admin (Users, then the person, then "
                "'Phone system')."
            )
        return agent_found
    if username in (None, ""):
        return None
    if not isinstance(username, str):
        raise BadEvent("'user' must be a city311 username.")
    found = User.objects.filter(username=username[:150], is_active=True).first()
    if found is None:
        raise UnknownAgent(f"No active staff member has the username '{username[:150]}'.")
    return found
