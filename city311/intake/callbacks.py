"""Voicemails and callback requests left with the phone tree after hours: the call takers'
queue to call back (console.calls.callbacks), and the outcome once they have.

A message is an open, unanswered phone `Interaction` with its `Voicemail` (the recording and,
later, Twilio's transcription). Calling back ends the interaction through contacts' one
`end_interaction`: wrap-up "called back", what came of it as its kind (information given, a
status given, a request filed), the call taker as its staff and the moment as its end. A
message left with no words (the caller hung up at the tone) is a callback request all the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from city311.contacts import actions as contacts
from city311.contacts.models import Interaction, Kind, WrapUp
from city311.intake.models import Voicemail
from city311.servicerequests.models import ServiceRequest

# What the call back came to: the kinds a call taker chooses from on the queue.
OUTCOMES = (Kind.INFORMATION, Kind.STATUS_CHECK, Kind.NEW_REQUEST, Kind.COMPLAINT)


class CallbackError(ValueError):
    """A call back that cannot be recorded as asked; `message` says what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def to_call_back(limit: int = 50) -> list[Voicemail]:
    """The messages nobody has called back yet, oldest first."""
    return list(
        Voicemail.objects.filter(interaction__ended_at__isnull=True)
        .select_related("interaction")
        .order_by("created_at")[:limit]
    )


def called_back_since(since: datetime, limit: int = 50) -> list[Voicemail]:
    """The messages called back from `since`, latest first, with who called and the outcome."""
    return list(
        Voicemail.objects.filter(
            interaction__wrap_up=WrapUp.CALLED_BACK, interaction__ended_at__gte=since
        )
        .select_related("interaction__staff", "interaction__request")
        .order_by("-interaction__ended_at")[:limit]
    )


def mark_called_back(
    voicemail: Voicemail, *, kind: str, by: Any, request: ServiceRequest | None = None
) -> Interaction:
    """The call taker `by` called the resident back: the outcome on the message's interaction.

    CallbackError for an outcome not in OUTCOMES, a filed request without its number, or a
    message someone has already called back (two call takers on one queue).
    """
    if kind not in OUTCOMES:
        raise CallbackError(_("Choose what came of the call back."))
    if kind == Kind.NEW_REQUEST and request is None:
        raise CallbackError(_("Give the tracking number of the request you filed."))
    try:
        return contacts.end_interaction(
            voicemail.interaction,
            kind=kind,
            wrap_up=WrapUp.CALLED_BACK,
            request=request,
            by=by,
        )
    except contacts.InteractionError:
        raise CallbackError(_("Someone has already called this resident back.")) from None
