from typing import Any

from django import forms

from city311.catalog.models import Department, ServiceType
from city311.servicerequests.models import Channel, Resolution


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    public = forms.BooleanField(label="The resident can read this note", required=False)


class CloseForm(forms.Form):
    resolution = forms.ChoiceField(choices=Resolution.choices)
    note = forms.CharField(
        label="What was done (the resident reads this)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    duplicate_of = forms.CharField(
        label="Duplicate of (tracking number)", required=False, max_length=20
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label="Why is it reopened?", widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )


class TransferForm(forms.Form):
    department = forms.ModelChoiceField(queryset=Department.objects.filter(active=True))
    reason = forms.CharField(label="Why", max_length=500)


class ReclassifyForm(forms.Form):
    service_type = forms.ModelChoiceField(
        label="New type",
        queryset=ServiceType.objects.filter(active=True).exclude(urgency="emergency"),
    )
    reason = forms.CharField(label="Why", max_length=500)


class AssignForm(forms.Form):
    assignee = forms.IntegerField(required=False)


class ContactReasonForm(forms.Form):
    reason = forms.CharField(label="Why do you need the reporter's details?", max_length=300)


QUEUE_STATUSES = [
    ("", "Not closed"),
    ("new", "New"),
    ("open", "Open"),
    ("in_progress", "In progress"),
    ("closed", "Closed"),
    ("any", "Any status"),
]
QUEUE_ESCALATIONS = [
    ("", "Any"),
    ("warned", "Warned (75% of the time)"),
    ("breached", "Breached (past due)"),
    ("way_overdue", "Way overdue (3 times the time)"),
]
QUEUE_SORTS = [
    ("due", "Urgent first, then soonest due"),
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("updated", "Most recently changed"),
]


class QueueForm(forms.Form):
    """The queue's filters, read from the URL's query string: the same parameters the reports
    link to (docs/work-queues.md lists them). Every field is optional."""

    q = forms.CharField(label="Search", required=False, max_length=200)
    department = forms.SlugField(label="Department", required=False)
    type = forms.CharField(label="Type", required=False, max_length=60)
    status = forms.ChoiceField(label="Status", choices=QUEUE_STATUSES, required=False)
    area = forms.CharField(label="Area", required=False, max_length=100)
    assignee = forms.CharField(label="Assigned to", required=False, max_length=20)
    team = forms.CharField(label="Team", required=False, max_length=60)
    channel = forms.ChoiceField(
        label="Channel", choices=[("", "Any channel"), *Channel.choices], required=False
    )
    overdue = forms.BooleanField(label="Overdue only", required=False)
    urgent = forms.BooleanField(label="Urgent only", required=False)
    escalation = forms.ChoiceField(label="Escalation", choices=QUEUE_ESCALATIONS, required=False)
    since = forms.DateField(label="Received on or after", required=False)
    until = forms.DateField(label="Received on or before", required=False)
    # From the reports' click-through: a service group, and requests closed in a period.
    group = forms.CharField(label="Group", required=False, max_length=80)
    closed_since = forms.DateField(label="Closed on or after", required=False)
    closed_until = forms.DateField(label="Closed on or before", required=False)
    sort = forms.ChoiceField(label="Sort", choices=QUEUE_SORTS, required=False)
    page = forms.IntegerField(min_value=1, max_value=200, required=False)

    def clean_assignee(self) -> str:
        value: str = self.cleaned_data["assignee"].strip()
        if value not in ("", "me", "none") and not value.isdigit():
            raise forms.ValidationError(
                "Give the number of a person, “me” or “none” (nobody assigned)."
            )
        return value

    def clean_area(self) -> str:
        value: str = self.cleaned_data["area"].strip()
        if value and ":" not in value:
            raise forms.ValidationError(
                "Give the area as kind:code, for example community_district:301."
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(
                "“Received on or after” is later than “Received on or before”: swap the dates."
            )
        return data


class SavedViewForm(forms.Form):
    name = forms.CharField(label="Name of this view", max_length=80)
    query = forms.CharField(required=False, max_length=1000)


BULK_ACTIONS = [
    ("assign", "Assign to a person"),
    ("team", "Give to a team"),
    ("transfer", "Transfer to another department"),
    ("duplicate", "Close as duplicates of a request"),
    ("note", "Add a note"),
]


class BulkForm(forms.Form):
    """One action on many requests: the ticked ones, or every one the filters match."""

    action = forms.ChoiceField(choices=BULK_ACTIONS)
    selected = forms.CharField(required=False)  # read with getlist in the view
    all_matching = forms.BooleanField(required=False)
    query = forms.CharField(required=False, max_length=1000)
    assignee = forms.IntegerField(required=False)
    team = forms.CharField(required=False, max_length=60)
    department = forms.ModelChoiceField(
        queryset=Department.objects.filter(active=True), required=False
    )
    reason = forms.CharField(required=False, max_length=500)
    duplicate_of = forms.CharField(required=False, max_length=20)
    text = forms.CharField(required=False, max_length=4000)
    public = forms.BooleanField(required=False)


class CompleteForm(forms.Form):
    note = forms.CharField(
        label="What was done (the resident reads this)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    photo = forms.FileField(label="Completion photo", required=False)


class WorkOrderForm(forms.Form):
    title = forms.CharField(label="What is the work?", max_length=200)
    assignee = forms.IntegerField(required=False)


class WorkOrderDoneForm(forms.Form):
    number = forms.IntegerField(min_value=1)
    result = forms.CharField(required=False, max_length=4000)


class CrewOrderNoteForm(forms.Form):
    text = forms.CharField(max_length=4000)
    public = forms.BooleanField(required=False)
    photo = forms.FileField(required=False)


class CrewOrderDoneForm(forms.Form):
    result = forms.CharField(max_length=4000)


class CrewOrderHandBackForm(forms.Form):
    reason = forms.CharField(max_length=4000)
