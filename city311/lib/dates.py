"""Dates as staff pages show them: the year only when it is not this year.

A queue that shows "May 2" above "Dec 8" reads as unsorted when May 2 was last year's; a short
date without its year is only clear within the year. Registered as a template builtin
(settings.TEMPLATES), so every page has `when`:

    {{ sr.due_at|when }}          Dec 8, 14:05      Dec 8 2025, 14:05
    {{ sr.requested_at|when:"day" }}  Dec 8         Dec 8 2025
    {{ sr.due_at|when:"long" }}   Tuesday, December 8   Tuesday, December 8, 2025

in the city's time zone (the active one) and the page's language.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date

register = template.Library()

# style -> (this year's format, another year's format), in Django's date format characters.
FORMATS = {
    "short": ("M j, H:i", "M j Y, H:i"),
    "day": ("M j", "M j Y"),
    "long": ("l, F j", "l, F j, Y"),
}


@register.filter
def when(value: datetime | date | None, style: str = "short") -> str:
    """`value` in `style` (short, day or long), with its year when that is not this year."""
    if value is None or value == "":
        return ""
    this_year, other_year = FORMATS[style]
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    today = timezone.localdate()
    return format_date(value, this_year if value.year == today.year else other_year)
