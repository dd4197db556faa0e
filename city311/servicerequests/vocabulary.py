"""The words of a request's life, in one place: its states, outcomes, channels, event kinds,
and what each is called, for staff and for residents, in every language the city offers.

Everything here is a translatable label (`gettext_lazy`): it is worded where it is shown, in
the language of that page or message. Notifications, the portal, the work pages, Open311 and the
reports read these; none keeps a list of its own.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db import models
from django.utils import dateformat, translation
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    NEW = "new", pgettext_lazy("request status", "New")
    OPEN = "open", pgettext_lazy("request status", "Open")
    IN_PROGRESS = "in_progress", pgettext_lazy("request status", "In progress")
    CLOSED = "closed", pgettext_lazy("request status", "Closed")


class Pause(models.TextChoices):
    """Why a request's SLA clock is stopped: the city is waiting on someone else."""

    RESIDENT = "resident", _("Waiting on the resident")
    AGENCY = "agency", _("Waiting on another agency")


class Escalate(models.TextChoices):
    """Who an escalation level tells (city311.servicerequests.sla.escalation_recipients)."""

    ASSIGNEE = "assignee", _("The assignee")
    SUPERVISOR = "supervisor", _("The supervisor")
    MANAGER = "manager", _("The manager")


class Resolution(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    DUPLICATE = "duplicate", _("Duplicate of another request")
    NO_ACTION = "no_action", _("No action needed")
    REFERRED = "referred", _("Referred outside the city")
    CANCELLED = "cancelled", _("Cancelled")


# The city's standard words for each resolution, for a resident: what a closed request says
# first, in the reader's language, before the closer's own words (which stay as typed).
RESOLUTION_SENTENCES: dict[str, Promise] = {
    Resolution.COMPLETED: _("The work is done."),
    Resolution.DUPLICATE: _("Someone had already reported the same problem."),
    Resolution.NO_ACTION: _("We looked into it and found nothing the city needs to do."),
    Resolution.REFERRED: _("This is handled outside the city, so we passed it on."),
    Resolution.CANCELLED: _("The request was cancelled."),
}


def resolution_words(resolution: str) -> str:
    """The resolution in plain words, for a resident, in the active language."""
    return str(RESOLUTION_SENTENCES.get(resolution, ""))


def typed_in_another_language(event_data: dict[str, Any], language: str | None = None) -> bool:
    """Whether a person's note (a closer's) was typed in a language other than `language`
    (the active one): it is then shown as typed, labelled as theirs. A note from before the
    language was kept was typed on an English page."""
    from django.conf import settings

    typed = str(event_data.get("language") or settings.LANGUAGE_CODE)
    reader = language or translation.get_language() or settings.LANGUAGE_CODE
    return typed.split("-")[0].lower() != reader.split("-")[0].lower()


class Channel(models.TextChoices):
    """How a resident reached the city: a request's channel, and a contact's (an
    `Interaction`'s, on CONTACT_CHANNELS only). Managers measure channels separately."""

    PHONE = "phone", _("Phone")
    # A conversation by text message (city311.intake.texting), MMS photos included.
    SMS = "sms", _("Text message")
    WEB = "web", _("Web portal")
    MOBILE_APP = "mobile_app", _("Mobile app")
    EMAIL = "email", _("E-mail")
    WALK_IN = "walk_in", _("Walk-in")
    WEB_CHAT = "web_chat", _("Web chat")
    OPEN311 = "open311", _("Open311 application")
    # The city's own people reporting what they saw at work (a sanitation driver on the route).
    STAFF = "staff", _("City staff")
    IMPORT = "import", _("Imported record")


# The channels a contact with the city is logged on (contacts.Interaction): those where the
# city answers a person. Requests from an application, a web form or an import have no contact.
CONTACT_CHANNELS = (
    Channel.PHONE,
    Channel.SMS,
    Channel.EMAIL,
    Channel.WALK_IN,
    Channel.WEB_CHAT,
)


class Event:
    """The kinds of history event (`RequestEvent.kind`), read by every consumer of the stream."""

    SUBMITTED = "request.submitted"
    ROUTED = "request.routed"
    TRANSFERRED = "request.transferred"
    # Staff changed the request's type (re-routed, due again): the classifier learns from it.
    RECLASSIFIED = "request.reclassified"
    ASSIGNED = "request.assigned"
    STARTED = "request.started"
    NOTE = "request.note"
    CLOSED = "request.closed"
    REOPENED = "request.reopened"
    OVERDUE = "request.overdue"
    CONTACT_VIEWED = "request.contact_viewed"
    IMPORTED = "request.imported"
    # On the parent, when another request is closed as its duplicate (merged into it).
    MERGED = "request.merged"
    # On each merged request when its parent closes, so the merged request's followers hear.
    PARENT_CLOSED = "request.parent_closed"
    # Staff placed a request filed "location to verify" (or corrected where it is).
    LOCATION_VERIFIED = "request.location_verified"
    # Work orders under a request (city311.servicerequests.actions.add_work_order...).
    WORK_ORDER_ADDED = "request.work_order_added"
    WORK_ORDER_STARTED = "request.work_order_started"
    WORK_ORDER_DONE = "request.work_order_done"
    WORK_ORDER_CANCELLED = "request.work_order_cancelled"
    WORK_ORDER_NOTE = "request.work_order_note"
    WORK_ORDER_REASSIGNED = "request.work_order_reassigned"
    WORK_ORDER_HANDED_BACK = "request.work_order_handed_back"
    # The SLA clock stopped (waiting on the resident or another agency) and started again.
    PAUSED = "request.paused"
    RESUMED = "request.resumed"
    # An escalation level was reached (75% of the time, the breach, 3x...): someone is told.
    ESCALATED = "request.escalated"
    # Sent to another Open311 server (a contractor, a county) and what that server said of it
    # (city311.webhooks.forwarding).
    FORWARDED = "request.forwarded"
    REMOTE_UPDATE = "request.remote_update"
    # The city moved the request's appointment day (a bulky pickup on a route that changed).
    RESCHEDULED = "request.rescheduled"


# What staff see for each kind of event in a request's history.
EVENT_LABELS: dict[str, Promise] = {
    Event.SUBMITTED: _("Received"),
    Event.ROUTED: _("Routed"),
    Event.TRANSFERRED: _("Transferred"),
    Event.RECLASSIFIED: _("Type changed"),
    Event.ASSIGNED: _("Assigned"),
    Event.STARTED: _("Work started"),
    Event.NOTE: _("Note"),
    Event.CLOSED: pgettext_lazy("request status", "Closed"),
    Event.REOPENED: _("Reopened"),
    Event.OVERDUE: _("Past its due date"),
    Event.CONTACT_VIEWED: _("Contact details viewed"),
    Event.IMPORTED: _("Imported"),
    Event.MERGED: _("Duplicate merged in"),
    Event.PARENT_CLOSED: _("Original request closed"),
    Event.LOCATION_VERIFIED: _("Location verified"),
    Event.WORK_ORDER_ADDED: _("Work order added"),
    Event.WORK_ORDER_STARTED: _("Work order started"),
    Event.WORK_ORDER_DONE: _("Work order done"),
    Event.WORK_ORDER_CANCELLED: _("Work order cancelled"),
    Event.WORK_ORDER_NOTE: _("Work order note"),
    Event.WORK_ORDER_REASSIGNED: _("Work order reassigned"),
    Event.WORK_ORDER_HANDED_BACK: _("Work order handed back"),
    Event.PAUSED: _("Clock paused"),
    Event.RESUMED: _("Clock resumed"),
    Event.ESCALATED: _("Escalated"),
    Event.FORWARDED: _("Forwarded"),
    Event.REMOTE_UPDATE: _("Update from the contractor"),
    Event.RESCHEDULED: _("Appointment day moved by the city"),
}

# What residents see for each public kind of event; kinds not here are not shown to them.
PUBLIC_EVENT_LABELS: dict[str, Promise] = {
    Event.SUBMITTED: _("Received"),
    Event.IMPORTED: _("Received"),
    Event.ROUTED: _("Sent to the team that handles it"),
    Event.TRANSFERRED: _("Passed to another team"),
    Event.STARTED: _("Work started"),
    Event.NOTE: _("Update from the city"),
    Event.CLOSED: pgettext_lazy("request status", "Closed"),
    Event.REOPENED: _("Reopened"),
    Event.MERGED: _("Another report of the same problem joined this one"),
    Event.PARENT_CLOSED: _("The original request was closed"),
    Event.WORK_ORDER_DONE: _("Part of the work was done"),
    Event.WORK_ORDER_NOTE: _("Update from the city"),
    Event.PAUSED: _("On hold: we are waiting for information"),
    Event.RESUMED: _("Work resumed"),
    Event.RESCHEDULED: _("The appointment day changed"),
}

# Where a request stands, in a sentence a resident understands.
STATUS_WORDS: dict[str, Promise] = {
    Status.NEW: _("Received: waiting to be sent to a team"),
    Status.OPEN: _("Open: a city team has it"),
    Status.IN_PROGRESS: _("In progress: work has started"),
}
RESOLUTION_WORDS: dict[str, Promise] = {
    Resolution.COMPLETED: _("Closed: the work is done"),
    Resolution.DUPLICATE: _("Closed: someone had already reported the same problem"),
    Resolution.NO_ACTION: _("Closed: no action was needed"),
    Resolution.REFERRED: _("Closed: passed to an agency outside the city"),
    Resolution.CANCELLED: _("Closed: cancelled"),
}


def event_label(kind: str) -> str:
    """The staff label of an event kind, in the active language."""
    label = EVENT_LABELS.get(kind)
    return str(label) if label is not None else kind


def status_words(status: str, resolution: str = "") -> str:
    """Where a request stands, for residents, in the active language."""
    if status == Status.CLOSED:
        # Imported history can be closed with no resolution recorded.
        return str(RESOLUTION_WORDS.get(resolution, Status.CLOSED.label))
    return str(STATUS_WORDS.get(status, status))


# History notes city311 writes itself ("Assigned to Dana Tester.") are kept as their English
# template and parameters (`said`) in the event's data under "words", beside the English text
# in `note` (for Open311, webhooks and search), and worded for each reader when shown
# (`event_note`): a Spanish page reads Spanish, whenever the event was written. What a person
# wrote (a note, a reason) is shown as they wrote it.

Words = dict[str, Any]


def said(template: str, **params: Any) -> Words:
    """A note of city311's own: `template` is the English msgid (marked with gettext_noop
    where it is written, so it is in the catalog); a parameter is text, a number, or a
    reference worded when read (`department`, `service_type`, `pause`, `at`, `told`)."""
    return {"text": template, "params": params}


def department(row: Any) -> dict[str, str]:
    """A department as a parameter: named in the reader's language when shown."""
    return {"department": row.slug, "name": row.name}


def service_type(row: Any) -> dict[str, str]:
    return {"service_type": row.service_code, "name": row.service_name}


def pause(reason: str) -> dict[str, str]:
    return {"pause": reason}


def at(moment: datetime) -> dict[str, str]:
    """A moment, shown as "Mon 4 Dec, 14:05" in the reader's language and the city's time."""
    return {"at": moment.isoformat()}


def told(people: list[tuple[str, str]]) -> dict[str, Any]:
    """Who an escalation told: (name, Escalate value) pairs; nobody is the mailbox."""
    return {"told": [list(p) for p in people]}


def _catalog_name(kind: str, key: str, fallback: str) -> str:
    # Imported here: the catalog's snapshot imports the request models, which import this.
    from city311.catalog import cache

    snapshot = cache.catalog()
    if kind == "department":
        found = next((d for d in snapshot.departments.values() if d.slug == key), None)
        return found.translated("name") if found is not None else fallback
    row = snapshot.by_code.get(key)
    return row.translated("service_name") if row is not None else fallback


def _param(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "department" in value:
        return _catalog_name("department", value["department"], value.get("name", ""))
    if "service_type" in value:
        return _catalog_name("service_type", value["service_type"], value.get("name", ""))
    if "pause" in value:
        return str(Pause(value["pause"]).label) if value["pause"] in Pause.values else ""
    if "at" in value:
        # Imported here: the city's profile reads the catalog, which imports this.
        from city311.cities import profile

        moment = datetime.fromisoformat(value["at"]).astimezone(profile.current().zone)
        return dateformat.format(moment, "D j M, H:i")
    if "told" in value:
        people = [
            f"{name} ({Escalate(role).label})" if role in Escalate.values else name
            for name, role in value["told"]
        ]
        return ", ".join(people) if people else gettext("the department's mailbox")
    return ""


def worded(words: Words | list[Words]) -> str:
    """Stored words (one `said`, or several in a row) in the active language."""
    parts = words if isinstance(words, list) else [words]
    return " ".join(
        gettext(part["text"]) % {k: _param(v) for k, v in part.get("params", {}).items()}
        for part in parts
    )


def english(words: Words | list[Words]) -> str:
    """The stored words in English: the event's `note`."""
    with translation.override("en"):
        return worded(words)


def event_note(kind: str, note: str, data: dict[str, Any] | None) -> str:
    """An event's note in the active language: city311's own words worded now, a person's
    as they wrote them. Events written before their words were kept show their note."""
    data = data or {}
    words = data.get("words")
    if words:
        try:
            return worded(words)
        except (KeyError, TypeError, ValueError):
            return note
    if kind == Event.ROUTED and data.get("department"):
        return worded(routed_words(data))
    if kind == Event.RESCHEDULED and isinstance(data.get("reasons"), dict):
        language = (translation.get_language() or "en").split("-")[0]
        return str(data["reasons"].get(language) or note)
    return note


def routed_words(data: dict[str, Any]) -> list[Words]:
    """Where filing sent the request, from the routed event's data (routing.Route.data):
    "Sent to Sanitation, Brooklyn North, by rule 12. Team North, by assignment rule 3."."""
    # Imported here: the models import this module.
    from city311.servicerequests.models import Team

    sent_to = {"department": data["department"], "name": data["department"]}
    slug = data.get("team")
    team = Team.objects.filter(slug=slug).values_list("name", flat=True).first() if slug else None
    if data.get("rule") is None:
        parts = [
            said(
                gettext_noop("Sent to %(department)s (the type's default department)."),
                department=sent_to,
            )
        ]
    elif data.get("area"):
        parts = [
            said(
                gettext_noop("Sent to %(department)s, %(area)s, by rule %(rule)s."),
                department=sent_to,
                area=data["area"],
                rule=data["rule"],
            )
        ]
    else:
        parts = [
            said(
                gettext_noop("Sent to %(department)s, by rule %(rule)s."),
                department=sent_to,
                rule=data["rule"],
            )
        ]
    if team and data.get("team_rule") is not None:
        parts.append(
            said(
                gettext_noop("Team %(team)s, by assignment rule %(rule)s."),
                team=team,
                rule=data["team_rule"],
            )
        )
    elif team:
        parts.append(
            said(
                gettext_noop("Team %(team)s, whose territory holds %(territory)s."),
                team=team,
                territory=data.get("territory") or "",
            )
        )
    return parts


@cache
def _residents_by_label() -> dict[str, str]:
    # The actor label filing writes, in English whatever the resident's language
    # (intake._channel_label): "Resident via web portal" -> "web".
    with translation.override("en"):
        return {f"Resident via {str(c.label).lower()}": c.value for c in Channel}


def actor_words(label: str) -> str:
    """Who did it, for an actor without an account, in the reader's language: "Resident via
    web portal" reads "Residente vía portal web"; an application's or a system's name as is."""
    channel = _residents_by_label().get(label)
    if channel is None:
        return label
    return gettext("Resident via %(channel)s") % {"channel": str(Channel(channel).label).lower()}


def event_reason(kind: str, data: dict[str, Any] | None) -> str:
    """The reason an event carries: what the city waits on for a paused clock (a code, worded
    here), a person's words for a transfer or a new type."""
    reason = str((data or {}).get("reason") or "")
    if kind in (Event.PAUSED, Event.RESUMED) and reason in Pause.values:
        return str(Pause(reason).label)
    return reason
