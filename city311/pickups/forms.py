"""The booking form: a day among those offered, the items, where they are left, and contact."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from city311.pickups.booking import Day
from city311.pickups.models import BulkyItem


def _day_label(day: Day) -> str:
    label = formats.date_format(day.day, "l, j F Y")
    return f"{label} ({day.note})" if day.note else label


def _item_help(item: BulkyItem) -> str:
    limit = _("Up to %(max)s.") % {"max": item.max_per_booking}
    if not item.fee:
        return limit
    return f"{limit} " + _("Fee: %(fee)s each.") % {"fee": item.fee}


class BookingForm(forms.Form):
    day = forms.ChoiceField(label=_("Pickup day"), widget=forms.RadioSelect)
    place = forms.CharField(
        label=_("Where will the items be?"),
        help_text=_("For example: by the driveway, at the kerb on Van Siclen Avenue."),
        max_length=200,
        required=False,
    )
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    phone = forms.CharField(label=_("Phone (for text reminders)"), max_length=30, required=False)

    def __init__(self, *args: Any, days: list[Day], items: list[BulkyItem], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.items = items
        day = self.fields["day"]
        assert isinstance(day, forms.ChoiceField)
        day.choices = [(d.day.isoformat(), _day_label(d)) for d in days]
        for item in items:
            self.fields[f"item_{item.code}"] = forms.IntegerField(
                label=item.translated("name"),
                min_value=0,
                max_value=item.max_per_booking,
                required=False,
                initial=0,
                help_text=_item_help(item),
            )
        for field in self.fields.values():
            if not isinstance(field.widget, forms.RadioSelect):
                field.widget.attrs.setdefault("class", "usa-input")

    def item_fields(self) -> list[forms.BoundField]:
        return [self[f"item_{item.code}"] for item in self.items]

    def chosen_items(self) -> dict[str, int]:
        return {
            item.code: self.cleaned_data.get(f"item_{item.code}") or 0
            for item in self.items
            if self.cleaned_data.get(f"item_{item.code}")
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("email") or data.get("phone")):
            self.add_error(
                "email",
                _("Give an e-mail address or a phone number, for the confirmation and reminders."),
            )
        return data


class ChangeForm(forms.Form):
    day = forms.ChoiceField(label=_("Move the pickup to"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, days: list[Day], **kwargs: Any):
        super().__init__(*args, **kwargs)
        day = self.fields["day"]
        assert isinstance(day, forms.ChoiceField)
        day.choices = [(d.day.isoformat(), _day_label(d)) for d in days]
