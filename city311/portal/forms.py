"""The report flow's forms: one question a page, messages a resident understands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from city311.catalog.models import Datatype, ServiceAttribute
from city311.lib import phones
from city311.servicerequests.validation import MAX_DESCRIPTION, MAX_STRING_ANSWER

MAX_ADDRESS = 200


_CSS = {
    "Textarea": "usa-textarea",
    "CheckboxInput": "usa-checkbox__input",
    "FileInput": "usa-file-input__input",
}


class PortalForm(forms.Form):
    """USWDS classes, hints and errors tied to their fields for screen readers."""

    template_name = "portal/report/_form.html"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def describe(self) -> None:
        """Point each input at its hint and its error message (call after validation)."""
        for name, field in self.fields.items():
            ids = []
            if field.help_text:
                ids.append(f"{name}-hint")
            if self.is_bound and self.errors.get(name):
                ids.append(f"{name}-error")
            widget = field.widget
            if ids and not isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                widget.attrs["aria-describedby"] = " ".join(ids)
            css = _CSS.get(type(widget).__name__, "usa-input")
            if not isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                error = " usa-input--error" if self.is_bound and self.errors.get(name) else ""
                widget.attrs["class"] = css + error

    def full_clean(self) -> None:
        super().full_clean()
        self.describe()


class LocationForm(PortalForm):
    address = forms.CharField(
        label=_("Address or place"),
        help_text=_("A street address, a corner such as “Main St and 1st Ave”, or a park."),
        max_length=MAX_ADDRESS,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    lat = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-90, max_value=90)
    long = forms.FloatField(required=False, widget=forms.HiddenInput, min_value=-180, max_value=180)
    candidate = forms.TypedChoiceField(
        label=_("Which of these did you mean?"),
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, candidates: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["candidate"].choices = [  # type: ignore[attr-defined]
            (str(i), c["address"]) for i, c in enumerate(candidates)
        ]
        if not candidates:
            del self.fields["candidate"]


class FollowForm(PortalForm):
    tracking_number = forms.ChoiceField(
        label=_("Which request is yours?"), widget=forms.RadioSelect
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Mobile phone number for text messages"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )

    def __init__(self, *args: Any, numbers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tracking_number"].choices = [  # type: ignore[attr-defined]
            (n, n) for n in numbers
        ]

    def clean_phone(self) -> str:
        return clean_texting_phone(self.cleaned_data.get("phone", ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not (data.get("email") or data.get("phone")):
            self.add_error("email", _("Give an e-mail address or a phone number to follow it."))
        return data


def clean_phone(value: str) -> str:
    """The number as the resident will see it again on the review page, or a clear error."""
    try:
        return phones.display(phones.normalise(value))
    except phones.PhoneError as e:
        raise forms.ValidationError(e.message) from None


def clean_texting_phone(value: str) -> str:
    """A number to send texts to, or a clear error when texts cannot reach it."""
    try:
        return phones.display(phones.for_texts(value))
    except phones.PhoneError as e:
        raise forms.ValidationError(e.message) from None


def question_name(attribute: ServiceAttribute) -> str:
    return f"q_{attribute.code}"


class QuestionsForm(PortalForm):
    """The type's own questions (Open311 attributes), each field by its datatype."""

    def __init__(self, *args: Any, attributes: list[ServiceAttribute], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attributes = [a for a in attributes if a.variable]
        for attribute in self.attributes:
            self.fields[question_name(attribute)] = _question_field(attribute)

    def answers(self) -> dict[str, str | list[str]]:
        """Answers in the form submit_request takes them; unanswered questions left out."""
        answers: dict[str, str | list[str]] = {}
        for attribute in self.attributes:
            value = self.cleaned_data.get(question_name(attribute))
            if value in (None, "", []):
                continue
            if isinstance(value, datetime):
                answers[attribute.code] = value.isoformat()
            elif isinstance(value, list):
                answers[attribute.code] = [str(v) for v in value]
            else:
                answers[attribute.code] = str(value)
        return answers


class NumberField(forms.CharField):
    default_error_messages = {"invalid": _("Enter a number using digits, such as 3.")}

    def clean(self, value: Any) -> str:
        text = str(super().clean(value) or "").replace(",", "").strip()
        if text:
            try:
                number = float(text)
            except ValueError:
                raise forms.ValidationError(self.error_messages["invalid"]) from None
            if number != number or number in (float("inf"), float("-inf")):
                raise forms.ValidationError(self.error_messages["invalid"])
        return text


def _question_field(attribute: ServiceAttribute) -> forms.Field:
    question = attribute.translated("description")
    common: dict[str, Any] = {
        "label": question,
        "required": attribute.required,
        "help_text": attribute.translated("datatype_description"),
    }
    # The error summary lists messages without their labels: each says which question it is.
    required = _("Answer this question: %(question)s") % {"question": question}
    datatype = attribute.datatype
    choices = [(v.key, v.translated("name")) for v in attribute.values.all()]
    if datatype == Datatype.SINGLEVALUELIST:
        field: forms.Field = forms.ChoiceField(choices=choices, widget=forms.RadioSelect, **common)
    elif datatype == Datatype.MULTIVALUELIST:
        field = forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    elif datatype == Datatype.NUMBER:
        field = NumberField(
            max_length=30, widget=forms.TextInput({"inputmode": "decimal"}), **common
        )
    elif datatype == Datatype.DATETIME:
        field = forms.DateTimeField(
            input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
            widget=forms.DateTimeInput({"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            error_messages={"invalid": _("Enter a date and time, such as 2026-11-22 14:30.")},
            **common,
        )
    elif datatype == Datatype.TEXT:
        field = forms.CharField(
            max_length=MAX_DESCRIPTION, widget=forms.Textarea({"rows": 4}), **common
        )
    else:
        field = forms.CharField(max_length=MAX_STRING_ANSWER, **common)
    field.error_messages["required"] = required
    return field


class DescriptionForm(PortalForm):
    description = forms.CharField(
        label=_("Describe the problem"),
        help_text=_(
            "What is wrong, how big it is, anything that helps the crew find it. "
            "Do not include personal details: this is shown publicly."
        ),
        max_length=MAX_DESCRIPTION,
        required=False,
        widget=forms.Textarea({"rows": 5}),
    )


class PhotoForm(PortalForm):
    photo = forms.FileField(
        label=_("Add a photo"),
        help_text=_("A JPEG, PNG, GIF or WebP image of at most %(mb)s MB."),
        widget=forms.FileInput({"accept": "image/jpeg,image/png,image/gif,image/webp"}),
        error_messages={"required": _("Choose a photo to add.")},
    )

    def __init__(self, *args: Any, max_mb: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["photo"]
        field.help_text = str(field.help_text) % {"mb": max_mb}


class ContactForm(PortalForm):
    first_name = forms.CharField(
        label=_("First name"),
        required=False,
        max_length=100,
        widget=forms.TextInput({"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        required=False,
        max_length=100,
        widget=forms.TextInput({"autocomplete": "family-name"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        max_length=254,
        widget=forms.EmailInput({"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone number"),
        required=False,
        max_length=30,
        widget=forms.TextInput({"autocomplete": "tel", "type": "tel"}),
    )
    wants_updates = forms.BooleanField(
        label=_("Send me updates about this request"), required=False
    )

    def __init__(self, *args: Any, contact_required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contact_required = contact_required

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data.get("phone", ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        given = data.get("email") or data.get("phone")
        bad = self.errors.get("email") or self.errors.get("phone")
        # Updates to a phone alone go by text: say now if texts cannot reach it.
        if data.get("wants_updates") and data.get("phone") and not data.get("email") and not bad:
            try:
                data["phone"] = clean_texting_phone(data["phone"])
            except forms.ValidationError as e:
                self.add_error("phone", e)
        if self.contact_required and not given and not bad:
            self.add_error(
                "email", _("This service needs a way to reach you: give an e-mail or phone number.")
            )
        return data


class SubmitForm(PortalForm):
    token = forms.CharField(widget=forms.HiddenInput)
    # A honeypot: hidden from people and screen readers, filled in only by robots.
    website = forms.CharField(
        label=_("Leave this empty"),
        required=False,
        widget=forms.TextInput({"autocomplete": "off", "tabindex": "-1"}),
    )
