"""Triage as the channels use it: read a text, count a prompt, say what to call.

`check` is what every channel calls on a resident's or caller's own words before it suggests
anything; `advice` is what the page, the console or the API says when it is an emergency.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from city311.cities import profile
from city311.triage.models import EmergencyPrompt
from city311.triage.rules import NOT_AN_EMERGENCY, Triage, read

logger = logging.getLogger(__name__)

__all__ = ["Advice", "Triage", "advice", "api_answer", "check", "count", "read"]


@dataclass(frozen=True)
class Advice:
    """The numbers an emergency prompt gives, from the city's profile."""

    emergency_phone: str
    transfer_phone: str
    crisis_phone: str  # only when someone may harm themselves and the city has a crisis line


def check(text: str, *, channel: str, language: str = "") -> Triage:
    """Read `text` for an emergency, counting the prompt when it is one."""
    found = read(text or "", language) if text and text.strip() else NOT_AN_EMERGENCY
    if found.emergency:
        count(found, channel)
    return found


def count(found: Triage, channel: str) -> None:
    """Count one prompt per kind found, today, for `channel`: no text, no person."""
    if not found.emergency:
        return
    day = timezone.localdate()
    # Kinds only: the resident's words are never logged.
    logger.info("emergency prompt shown", extra={"channel": channel, "kinds": found.kinds})
    for kind in found.kinds:
        try:
            with transaction.atomic():
                updated = EmergencyPrompt.objects.filter(
                    day=day, channel=channel, kind=kind
                ).update(count=F("count") + 1)
                if not updated:
                    EmergencyPrompt.objects.create(day=day, channel=channel, kind=kind, count=1)
        except IntegrityError:
            # Another process created today's row first: add to it.
            EmergencyPrompt.objects.filter(day=day, channel=channel, kind=kind).update(
                count=F("count") + 1
            )


def advice(found: Triage) -> Advice:
    city = profile.current()
    return Advice(
        emergency_phone=city.emergency_phone,
        transfer_phone=city.emergency_transfer or city.emergency_phone,
        crisis_phone=city.crisis_phone if found.self_harm else "",
    )


def api_answer(found: Triage) -> dict[str, bool | str]:
    """What a JSON API says first about the words it was given, in the active language:
    whether they read as an emergency and, when they do, whom to call."""
    if not found.emergency:
        return {"emergency": False}
    said = advice(found)
    answer: dict[str, bool | str] = {
        "emergency": True,
        "emergency_phone": said.emergency_phone,
        "message": _("This sounds like an emergency. Call %(phone)s now.")
        % {"phone": said.emergency_phone},
    }
    if said.crisis_phone:
        answer["crisis_phone"] = said.crisis_phone
    return answer
