from django import forms

from city311.catalog.models import Department, ServiceType
from city311.servicerequests.models import Resolution


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
