from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from city311.catalog.models import Department, ServiceType
from city311.servicerequests.models import Channel, Resolution


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    public = forms.BooleanField(label=_("The resident can read this note"), required=False)


class CloseForm(forms.Form):
    resolution = forms.ChoiceField(label=_("Resolution"), choices=Resolution.choices)
    note = forms.CharField(
        label=_("What was done (the resident reads this)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    duplicate_of = forms.CharField(
        label=_("Duplicate of (tracking number)"), required=False, max_length=20
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is it reopened?"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )


class TransferForm(forms.Form):
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.filter(active=True)
    )
    reason = forms.CharField(label=_("Why"), max_length=500)


class ReclassifyForm(forms.Form):
    service_type = forms.ModelChoiceField(
        label=_("New type"),
        queryset=ServiceType.objects.filter(active=True).exclude(urgency="emergency"),
    )
    reason = forms.CharField(label=_("Why"), max_length=500)


class AssignForm(forms.Form):
    assignee = forms.IntegerField(required=False)


class ContactReasonForm(forms.Form):
    reason = forms.CharField(label=_("Why do you need the reporter's details?"), max_length=300)


QUEUE_STATUSES = [
    ("", _("Not closed")),
    ("new", pgettext_lazy("request status", "New")),
    ("open", pgettext_lazy("request status", "Open")),
    ("in_progress", pgettext_lazy("request status", "In progress")),
    ("closed", pgettext_lazy("request status", "Closed")),
    ("any", _("Any status")),
]
QUEUE_ESCALATIONS = [
    ("", _("Any")),
    # xgettext:no-python-format
    ("warned", _("Warned (75% of the time)")),
    ("breached", _("Breached (past due)")),
    ("way_overdue", _("Way overdue (3 times the time)")),
]
QUEUE_SORTS = [
    ("due", _("Urgent first, then soonest due")),
    ("newest", _("Newest first")),
    ("oldest", _("Oldest first")),
    ("updated", _("Most recently changed")),
]


class QueueForm(forms.Form):
    """The queue's filters, read from the URL's query string: the same parameters the reports
    link to (docs/work-queues.md lists them). Every field is optional."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    department = forms.SlugField(label=_("Department"), required=False)
    type = forms.CharField(label=_("Type"), required=False, max_length=60)
    status = forms.ChoiceField(label=_("Status"), choices=QUEUE_STATUSES, required=False)
    area = forms.CharField(label=_("Area"), required=False, max_length=100)
    assignee = forms.CharField(label=_("Assigned to"), required=False, max_length=20)
    team = forms.CharField(label=_("Team"), required=False, max_length=60)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("Any channel")), *Channel.choices], required=False
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    urgent = forms.BooleanField(label=_("Urgent only"), required=False)
    escalation = forms.ChoiceField(label=_("Escalation"), choices=QUEUE_ESCALATIONS, required=False)
    since = forms.DateField(label=_("Received on or after"), required=False)
    until = forms.DateField(label=_("Received on or before"), required=False)
    # From the reports' click-through: a service group, and requests closed in a period.
    group = forms.CharField(label=_("Group"), required=False, max_length=80)
    closed_since = forms.DateField(label=_("Closed on or after"), required=False)
    closed_until = forms.DateField(label=_("Closed on or before"), required=False)
    # From the reports' maps: a square's requests, by their places as the open data rounds
    # them (west,south,east,north in degrees, its first and last published points).
    box = forms.CharField(label=_("Square on the map"), required=False, max_length=100)
    sort = forms.ChoiceField(label=_("Sort"), choices=QUEUE_SORTS, required=False)
    page = forms.IntegerField(min_value=1, max_value=200, required=False)

    def clean_assignee(self) -> str:
        value: str = self.cleaned_data["assignee"].strip()
        if value not in ("", "me", "none") and not value.isdigit():
            raise forms.ValidationError(
                _("Give the number of a person, “me” or “none” (nobody assigned).")
            )
        return value

    def clean_area(self) -> str:
        value: str = self.cleaned_data["area"].strip()
        if value and ":" not in value:
            raise forms.ValidationError(
                _("Give the area as kind:code, for example community_district:301.")
            )
        return value

    def clean_box(self) -> tuple[float, float, float, float] | None:
        value: str = self.cleaned_data["box"].strip()
        if not value:
            return None
        try:
            west, south, east, north = (float(part) for part in value.split(","))
        except ValueError:
            raise forms.ValidationError(
                _("Give the square as west,south,east,north in degrees, for example "
                  "-74.010,40.600,-74.001,40.609.")
            ) from None  # fmt: skip
        if west > east or south > north:
            raise forms.ValidationError(
                _("The square's west is past its east, or its south past its north.")
            )
        return west, south, east, north

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(
                _("“Received on or after” is later than “Received on or before”: swap the dates.")
            )
        return data


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of this view"), max_length=80)
    query = forms.CharField(required=False, max_length=1000)


BULK_ACTIONS = [
    ("assign", _("Assign to a person")),
    ("team", _("Give to a team")),
    ("transfer", _("Transfer to another department")),
    ("duplicate", _("Close as duplicates of a request")),
    ("note", _("Add a note")),
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
        label=_("What was done (the resident reads this)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    photo = forms.FileField(label=_("Completion photo"), required=False)


class WorkOrderForm(forms.Form):
    title = forms.CharField(label=_("What is the work?"), max_length=200)
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
