"""Template helpers for the work pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.formats import localize
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from city311.lib.dates import when

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


@register.simple_tag
def queue_rows(rows: Iterable[Any]) -> SafeString:
    """The queue table's <tr>s, one per request of the page: {% queue_rows rows %}.

    Built here for the reason `options` is: fifty rows of eight cells, with the due date's
    flags, were some thousand variable lookups of the template engine per page, 16 of the
    ~35 ms of CPU a queue page of fifty cost (bench/work_queue.py, at a million requests)."""
    now = timezone.now()
    select = _("Select %(number)s")
    urgent, paused, overdue = escape(_("Urgent")), escape(_("Paused")), escape(_("Overdue"))
    parts = []
    for sr in rows:
        number = escape(sr.tracking_number)
        late = sr.is_overdue(now)
        classes = ("urgent" if sr.urgent else "") + (" overdue" if late else "")
        tag = f' <span class="tag">{urgent}</span>' if sr.urgent else ""
        team = escape(sr.team.name) if sr.team and sr.team.name else "—"
        person = (sr.assignee.get_full_name() if sr.assignee else "") or ""
        parts.append(
            f'<tr class="{classes}">\n'
            f'      <td><input type="checkbox" name="selected" value="{number}" '
            f'id="pick-{number}" aria-label="{escape(select % {"number": sr.tracking_number})}">'
            f"</td>\n"
            f'      <td><a href="{escape(reverse("work:detail", args=[sr.tracking_number]))}">'
            f"{number}</a>{tag}</td>\n"
            f"      <td>{escape(sr.service_type.service_name)}</td>\n"
            f"      <td>{escape(sr.address_string) or '—'}</td>\n"
            f"      <td>{escape(sr.get_status_display())}</td>\n"
            f"      <td>{_due(sr, late, paused, overdue)}</td>\n"
            f"      <td>{team}</td>\n"
            f"      <td>{escape(person) or '—'}</td>\n"
            f"    </tr>"
        )
    return mark_safe("\n".join(parts))


def _due(sr: Any, late: bool, paused: str, overdue: str) -> str:
    """The due date with its flags: paused, overdue, escalated."""
    if not sr.due_at:
        return "—"
    due = timezone.localtime(sr.due_at)
    flag = ""
    if sr.paused:
        flag = f' <span class="tag">{paused}</span>'
    elif late:
        flag = f' <span class="tag">{overdue}</span>'
    if sr.escalation_level:
        words = _("Escalated: %(percent)s%%") % {"percent": localize(sr.escalation_level)}
        flag += f' <span class="tag">{escape(words)}</span>'
    return f'<time datetime="{format_date(due, "c")}">{escape(when(due))}</time>{flag}'
