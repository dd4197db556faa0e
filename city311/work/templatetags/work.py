"""Template helpers for the work pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def options(choices: Iterable[tuple[Any, Any]], chosen: Any = "") -> SafeString:
    """The <option>s of a filter's list, `chosen` selected: {% options areas chosen.area %}.

    Built here rather than by a {% for %} in the template: the queue's lists hold hundreds of
    options (every area of every kind, every type and person), and the template engine's loop
    was the largest part of an empty queue page's time."""
    chosen = "" if chosen is None else str(chosen)
    parts = []
    for value, label in choices:
        value = str(value)
        if isinstance(label, list | tuple):  # a group: (group label, [(value, label)...])
            parts.append(f'<optgroup label="{escape(value)}">{options(label, chosen)}</optgroup>')
            continue
        selected = " selected" if value == chosen else ""
        parts.append(f'<option value="{escape(value)}"{selected}>{escape(label)}</option>')
    return mark_safe("".join(parts))
