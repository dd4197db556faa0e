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
# On the parent, when another request is closed as its duplicate (merged into it).
MERGED = "request.merged"
# On each merged request when its parent closes, so the merged request's followers hear of it.
PARENT_CLOSED = "request.parent_closed"

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
    MERGED: "Duplicate merged in",
    PARENT_CLOSED: "Original request closed",
}
