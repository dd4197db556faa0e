"""The reports' filters, read from the query string: every field optional."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from city311.geo.models import Boundary, BoundaryKind
from city311.servicerequests.vocabulary import Channel

PERIODS = [
    ("30d", "Last 30 days"),
    ("today", "Today"),
    ("7d", "Last 7 days"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("this_quarter", "This quarter"),
    ("last_quarter", "Last quarter"),
    ("this_year", "This year"),
    ("custom", "From and to (below)"),
]
GRAINS = [("day", "Day"), ("week", "Week"), ("month", "Month"), ("quarter", "Quarter")]
MAP_KINDS = [(k, label) for k, label in BoundaryKind.choices if k not in ("city_limits",)]
LONGEST = timedelta(days=366 * 20)


class ReportForm(forms.Form):
    period = forms.ChoiceField(label="Period", choices=PERIODS, required=False)
    since = forms.DateField(label="From", required=False)
    until = forms.DateField(label="To (inclusive)", required=False)
    type = forms.CharField(label="Type (code)", required=False, max_length=60)
    group = forms.CharField(label="Group", required=False, max_length=80)
    department = forms.SlugField(label="Department", required=False)
    team = forms.SlugField(label="Team", required=False)
    area = forms.CharField(label="Area (kind:code)", required=False, max_length=100)
    channel = forms.ChoiceField(
        label="Channel", choices=[("", "Any channel"), *Channel.choices], required=False
    )
    urgency = forms.ChoiceField(
        label="Urgency",
        choices=[("", "Any"), ("urgent", "Urgent only"), ("normal", "Not urgent")],
        required=False,
    )
    by = forms.ChoiceField(label="Chart by", choices=GRAINS, required=False)
    map = forms.ChoiceField(label="Map by", choices=MAP_KINDS, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The select offers only the kinds of area the city has loaded (a kind with no areas
        # draws no map, and the first choice is what the select sends when nobody changes it);
        # a link naming another kind still reads, and the dashboard maps the city's default.
        loaded = set(Boundary.objects.values_list("kind", flat=True).distinct())
        kinds = self.fields["map"]
        assert isinstance(kinds, forms.ChoiceField)
        kinds.widget.choices = [
            ("", "The city's districts"),
            *((kind, label) for kind, label in MAP_KINDS if kind in loaded),
        ]

    def clean_area(self) -> str:
        value: str = self.cleaned_data["area"].strip()
        if value and ":" not in value:
            raise forms.ValidationError(
                "Give the area as kind:code, for example community_district:301."
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("period") == "custom" or data.get("since") or data.get("until"):
            since, until = data.get("since"), data.get("until")
            if not since or not until:
                raise forms.ValidationError("Give both dates of the period, From and To.")
            if since > until:
                raise forms.ValidationError("The period starts after it ends: swap the dates.")
            if until - since > LONGEST:
                raise forms.ValidationError("Choose a period of at most twenty years.")
            data["period"] = "custom"
        return data


def period_days(data: dict[str, Any], today: date) -> tuple[date, date]:
    """The first and last day (inclusive) of the chosen period."""
    period = data.get("period") or "30d"
    if period == "custom":
        return data["since"], data["until"]
    if period == "today":
        return today, today
    if period == "7d":
        return today - timedelta(days=6), today
    if period == "this_month":
        return today.replace(day=1), today
    if period == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if period == "this_quarter":
        return quarter_start, today
    if period == "last_quarter":
        end = quarter_start - timedelta(days=1)
        return date(end.year, 3 * ((end.month - 1) // 3) + 1, 1), end
    if period == "this_year":
        return date(today.year, 1, 1), today
    return today - timedelta(days=29), today


def previous(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before."""
    length = end - start + timedelta(days=1)
    return start - length, start - timedelta(days=1)


class OpenDataRange(forms.Form):
    """The open data's date range: days received, both ends optional and included."""

    since = forms.DateField(label=_("From"), required=False)
    until = forms.DateField(label=_("To (inclusive)"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start date is after the end date: swap them."))
        return data
