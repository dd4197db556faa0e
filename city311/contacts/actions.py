"""The public face of contacts: every channel records its contacts through these functions.

- `start_interaction`  a contact begins (the console opens a caller's screen, a call rings).
- `answer_interaction` a person takes it (the phone system's "answered").
- `end_interaction`    what came of it (kind, wrap-up, the article, type or request) and, unless
                       a phone system times the call, its end.
- `hang_up`            the phone system's "ended": the end time and the time on hold.
- `record_interaction` a whole contact at once (an e-mail answered, a text conversation).

Handle time is computed here and nowhere else (see models.Interaction). docs/call-centre.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from city311.catalog.models import ServiceType
from city311.contacts import wakeups
from city311.contacts.models import Interaction, Kind, WrapUp
from city311.knowledge.models import Article
from city311.lib import phones
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.vocabulary import CONTACT_CHANNELS, Channel

# A console screen left open longer than this is not the call in hand any more.
STALE_AFTER = timedelta(hours=4)


class InteractionError(ValueError):
    """A contact that cannot be recorded as asked; `message` says what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def start_interaction(
    *,
    channel: str,
    by: Any = None,
    phone: str = "",
    email: str = "",
    language: str = "",
    call_id: str = "",
    at: datetime | None = None,
    answered: bool = True,
) -> Interaction:
    """A contact begins. `phone` is read by city311.lib.phones (anything not a number is
    dropped); `answered=False` for a call still ringing in a queue (answer_interaction later)."""
    if channel not in CONTACT_CHANNELS:
        raise InteractionError(
            f"Unknown channel for a contact: use one of {', '.join(CONTACT_CHANNELS)}."
        )
    at = at or timezone.now()
    interaction = Interaction.objects.create(
        channel=channel,
        staff=by if getattr(by, "is_authenticated", False) else None,
        phone=phones.normalise_or_blank(phone),
        email=email.strip().lower()[:254],
        language=language[:8],
        call_id=call_id[:100],
        started_at=at,
        answered_at=at if answered else None,
    )
    # After the row: without a transaction around it, PostgreSQL sends the news at once.
    wakeups.contacts_changed()
    return interaction


def current_for(staff: Any) -> Interaction | None:
    """The contact `staff` has in hand: the newest one given to them with no outcome yet,
    still going, or a phone call the caller hung up on before the call taker wrapped it up."""
    return _in_hand(staff).order_by("-started_at").first()


def has_call_in_hand(staff: Any) -> bool:
    """Whether the phone system has given this call taker a call, for the console's poll and
    stream between calls: one indexed read. A contact the call taker started (by searching as
    the caller speaks) is already on their screen: popping it would reload the page under the
    search they just sent."""
    return _in_hand(staff).exclude(call_id="").exists()


def _in_hand(staff: Any) -> QuerySet[Interaction]:
    since = timezone.now() - STALE_AFTER
    return Interaction.objects.filter(staff=staff, kind="", started_at__gte=since).filter(
        Q(ended_at__isnull=True) | ~Q(call_id="")
    )


def current_or_start(staff: Any, *, channel: str = Channel.PHONE) -> Interaction:
    """The console's caller screen: the call in hand, or a new contact starting now."""
    return current_for(staff) or start_interaction(channel=channel, by=staff)


def set_caller(interaction: Interaction, *, phone: str = "", email: str = "") -> Interaction:
    """Who is calling, once the call taker hears it. PhoneError for a number that is not one."""
    fields = []
    if phone:
        interaction.phone = phones.normalise(phone)
        fields.append("phone")
    if email:
        interaction.email = email.strip().lower()[:254]
        fields.append("email")
    if fields:
        interaction.save(update_fields=fields)
    return interaction


def answer_interaction(
    interaction: Interaction, *, by: Any = None, at: datetime | None = None
) -> Interaction:
    """A person takes the contact. A second "answered" (a retried webhook) changes nothing."""
    if interaction.answered_at is not None and interaction.staff_id is not None:
        return interaction
    interaction.answered_at = interaction.answered_at or at or timezone.now()
    if by is not None and interaction.staff_id is None:
        interaction.staff = by
    interaction.save(update_fields=["answered_at", "staff"])
    wakeups.contacts_changed()
    if interaction.staff_id is not None and not interaction.kind and interaction.ended_at is None:
        # Their console's open stream, in whatever web process holds it, pops the card.
        wakeups.call_given(interaction.staff_id)
    return interaction


@transaction.atomic
def end_interaction(
    interaction: Interaction,
    *,
    kind: str,
    wrap_up: str = "",
    article: Article | None = None,
    service_type: ServiceType | None = None,
    request: ServiceRequest | None = None,
    by: Any = None,
    at: datetime | None = None,
) -> Interaction:
    """What came of the contact. It ends now (or `at`), unless a phone system times it: then
    its "ended" event (hang_up) sets the end, before or after this.

    Raises InteractionError for an unknown kind or wrap-up, or a contact already wrapped up.
    """
    if kind not in Kind.values:
        raise InteractionError(f"Unknown kind: use one of {', '.join(Kind.values)}.")
    if wrap_up and wrap_up not in WrapUp.values:
        raise InteractionError(f"Unknown wrap-up code: use one of {', '.join(WrapUp.values)}.")
    # Locked: a double click on "File" or two tabs must not wrap the same contact up twice.
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.kind:
        raise InteractionError(_("This contact is already wrapped up: take the next call."))
    interaction.kind = kind
    interaction.wrap_up = wrap_up or _DEFAULT_WRAP_UP[kind]
    interaction.article = article
    interaction.service_type = service_type or (request.service_type if request else None)
    interaction.request = request
    if interaction.staff_id is None and getattr(by, "is_authenticated", False):
        interaction.staff = by
    if not interaction.call_id and interaction.ended_at is None:
        interaction.ended_at = max(at or timezone.now(), interaction.started_at)
    _measure(interaction)
    interaction.save(
        update_fields=[
            "kind",
            "wrap_up",
            "article",
            "service_type",
            "request",
            "staff",
            "ended_at",
            "handle_seconds",
        ]
    )
    wakeups.contacts_changed()
    return interaction


@transaction.atomic
def hang_up(
    interaction: Interaction, *, at: datetime | None = None, hold_seconds: int = 0
) -> Interaction:
    """The phone system's "ended". A call nobody answered is abandoned. Idempotent."""
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.ended_at is not None:
        return interaction
    interaction.ended_at = max(at or timezone.now(), interaction.started_at)
    interaction.hold_seconds = max(0, int(hold_seconds))
    if interaction.answered_at is None and not interaction.kind:
        interaction.wrap_up = WrapUp.ABANDONED
    _measure(interaction)
    interaction.save(update_fields=["ended_at", "hold_seconds", "wrap_up", "handle_seconds"])
    wakeups.contacts_changed()
    return interaction


def record_interaction(
    *,
    channel: str,
    kind: str,
    started_at: datetime,
    ended_at: datetime,
    by: Any = None,
    phone: str = "",
    email: str = "",
    language: str = "",
    wrap_up: str = "",
    article: Article | None = None,
    service_type: ServiceType | None = None,
    request: ServiceRequest | None = None,
) -> Interaction:
    """A whole contact at once, for channels that learn of it after the fact (e-mail, texts)."""
    if ended_at < started_at:
        raise InteractionError("A contact cannot end before it starts.")
    with transaction.atomic():
        interaction = start_interaction(
            channel=channel, by=by, phone=phone, email=email, language=language, at=started_at
        )
        return end_interaction(
            interaction,
            kind=kind,
            wrap_up=wrap_up,
            article=article,
            service_type=service_type,
            request=request,
            by=by,
            at=ended_at,
        )


_DEFAULT_WRAP_UP: dict[str, str] = {
    Kind.INFORMATION: WrapUp.ANSWERED,
    Kind.NEW_REQUEST: WrapUp.FILED,
    Kind.STATUS_CHECK: WrapUp.STATUS_GIVEN,
    Kind.COMPLAINT: WrapUp.COMPLAINT_NOTED,
    Kind.TRANSFER: WrapUp.TRANSFERRED,
}


def _measure(interaction: Interaction) -> None:
    """Handle time: answered to ended, less hold; none for a contact nobody answered."""
    if interaction.ended_at is None or interaction.answered_at is None:
        interaction.handle_seconds = None
        return
    talked = (interaction.ended_at - interaction.answered_at).total_seconds()
    interaction.handle_seconds = max(0, round(talked) - interaction.hold_seconds)
