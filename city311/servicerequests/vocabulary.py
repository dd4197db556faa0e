"""The words of a request's life, in one place: its states, outcomes, channels, event kinds,
and what each is called, for staff and for residents, in every language the city offers.

Everything here is a translatable label (`gettext_lazy`): it is worded where it is shown, in
the language of that page or message. Notifications, the portal, the work pages, Open311 and the
reports read these; none keeps a list of its own.
"""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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
