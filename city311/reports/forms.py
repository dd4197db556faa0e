"""The reports' filters, read from the query string: every field optional."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from city311.geo.models import Boundary, BoundaryKind
from city311.servicerequests.vocabulary import Channel

PERIODS = [
    ("30d", _("Last 30 days")),
    ("today", _("Today")),
    ("7d", _("Last 7 days")),
    ("this_month", _("This month")),
    ("last_month", _("Last month")),
    ("this_quarter", _("This quarter")),
    ("last_quarter", _("Last quarter")),
    ("this_year", _("This year")),
    ("custom", _("From and to (below)")),
]
GRAINS = [
    ("day", pgettext_lazy("chart grain", "Day")),
    ("week", pgettext_lazy("chart grain", "Week")),
    ("month", pgettext_lazy("chart grain", "Month")),
    ("quarter", pgettext_lazy("chart grain", "Quarter")),
]
# The kinds of area as the reports name them (geo's BoundaryKind labels are English only).
KIND_LABELS = {
    "borough": pgettext_lazy("area kind", "Borough"),
    "council_district": pgettext_lazy("area kind", "Council district"),
    "community_district": pgettext_lazy("area kind", "Community district"),
    "neighborhood": pgettext_lazy("area kind", "Neighborhood"),
    "zip": pgettext_lazy("area kind", "ZIP code area"),
    "service_zone": pgettext_lazy("area kind", "Service zone"),
    "pickup_route": pgettext_lazy("area kind", "Pickup route"),
}
MAP_KINDS = [
    (k, KIND_LABELS.get(k, label)) for k, label in BoundaryKind.choices if k != "city_limits"
]
LONGEST = timedelta(days=366 * 20)


class ReportForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    since = forms.DateField(label=_("From"), required=False)
    until = forms.DateField(label=_("To (inclusive)"), required=False)
    type = forms.CharField(label=_("Type (code)"), required=False, max_length=60)
    group = forms.CharField(label=_("Group"), required=False, max_length=80)
    department = forms.SlugField(label=_("Department"), required=False)
    team = forms.SlugField(label=_("Team"), required=False)
    area = forms.CharField(label=_("Area (kind:code)"), required=False, max_length=100)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("Any channel")), *Channel.choices], required=False
    )
    urgency = forms.ChoiceField(
        label=_("Urgency"),
        choices=[("", _("Any")), ("urgent", _("Urgent only")), ("normal", _("Not urgent"))],
        required=False,
    )
    by = forms.ChoiceField(label=_("Chart by"), choices=GRAINS, required=False)
    map = forms.ChoiceField(label=_("Map by"), choices=MAP_KINDS, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The select offers only the kinds of area the city has loaded (a kind with no areas
        # draws no map, and the first choice is what the select sends when nobody changes it);
        # a link naming another kind still reads, and the dashboard maps the city's default.
        loaded = set(Boundary.objects.values_list("kind", flat=True).distinct())
        kinds = self.fields["map"]
        assert isinstance(kinds, forms.ChoiceField)
        kinds.widget.choices = [
            ("", _("The city's districts")),
            *((kind, label) for kind, label in MAP_KINDS if kind in loaded),
        ]

    def clean_area(self) -> str:
        value: str = self.cleaned_data["area"].strip()
        if value and ":" not in value:
            raise forms.ValidationError(
                _("Give the area as kind:code, for example community_district:301.")
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("period") == "custom" or data.get("since") or data.get("until"):
            since, until = data.get("since"), data.get("until")
            if not since or not until:
                raise forms.ValidationError(_("Give both dates of the period, From and To."))
            if since > until:
                raise forms.ValidationError(_("The period starts after it ends: swap the dates."))
            if until - since > LONGEST:
                raise forms.ValidationError(_("Choose a period of at most twenty years."))
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
