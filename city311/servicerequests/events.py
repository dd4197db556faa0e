"""The kinds of history event, in one place. Notifications and reports read these."""

SUBMITTED = "request.submitted"
ROUTED = "request.routed"
TRANSFERRED = "request.transferred"
ASSIGNED = "request.assigned"
STARTED = "request.started"
NOTE = "request.note"
CLOSED = "request.closed"
REOPENED = "request.reopened"
OVERDUE = "request.overdue"
CONTACT_VIEWED = "request.contact_viewed"
IMPORTED = "request.imported"

LABELS = {
    SUBMITTED: "Received",
    ROUTED: "Routed",
    TRANSFERRED: "Transferred",
    ASSIGNED: "Assigned",
    STARTED: "Work started",
    NOTE: "Note",
    CLOSED: "Closed",
    REOPENED: "Reopened",
    OVERDUE: "Past its due date",
    CONTACT_VIEWED: "Contact details viewed",
    IMPORTED: "Imported",
}
