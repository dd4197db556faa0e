"""Charts drawn on the server as SVG: each is an image with a text alternative, and every
chart on a page has a table with the same numbers beside it."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext

from city311.geo.models import BoundaryKind
from city311.reports import metrics
from city311.reports.forms import KIND_LABELS

register = template.Library()
WIDTH, HEIGHT = 600, 160
COLOURS = ("#005ea2", "#e5a000")


@register.filter
def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(kind) or dict(BoundaryKind.choices).get(kind)
    return str(label or kind.replace("_", " ")).lower()


@register.simple_tag
def bar_chart(
    rows: list[dict[str, Any]], first: str, second: str, title: str, names: tuple[str, str]
) -> SafeString:
    """Paired bars of two counts per row (e.g. received and closed per day); `names`: how the
    legend calls the two counts."""
    top = max([max(r[first] or 0, r[second] or 0) for r in rows] + [1])
    slot = WIDTH / max(len(rows), 1)
    bar = max(slot / 2 - 1, 0.5)
    bars = []
    for i, row in enumerate(rows):
        for j, name in enumerate((first, second)):
            h = (row[name] or 0) / top * (HEIGHT - 10)
            x = i * slot + j * bar
            bars.append((f"{x:.1f}", f"{HEIGHT - h:.1f}", f"{bar:.1f}", f"{h:.1f}", COLOURS[j]))
    shapes = format_html_join("", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>', bars)
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}">'
        '{}</svg><p class="legend">{} {} {} {} {}</p>',
        WIDTH,
        HEIGHT,
        gettext("%(title)s; highest %(top)s") % {"title": title, "top": metrics.count_text(top)},
        shapes,
        _swatch(COLOURS[0]),
        names[0],
        _swatch(COLOURS[1]),
        names[1],
        gettext("(the table below has the numbers)"),
    )


def _swatch(colour: str) -> SafeString:
    return format_html(
        '<svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="{}"/>'
        "</svg>",
        colour,
    )


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.simple_tag
def sections(report: Any) -> list[tuple[str, list[Any]]]:
    """The monthly report's tables: citywide, then one per district kind."""
    return [(gettext("Citywide"), report.citywide)] + [
        (gettext("By %(kind)s") % {"kind": kind_label(kind)}, report.by_area[kind])
        for kind, _label in report.kinds
    ]


@register.simple_tag
def chart_names() -> tuple[str, str]:
    """The legend's names of the received and closed bars."""
    return (pgettext("chart legend", "received"), pgettext("chart legend", "closed"))
