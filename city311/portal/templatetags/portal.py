"""Template helpers for residents' pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def tr(obj: Any, field: str) -> str:
    """Catalog text in the page's language: {{ service_type|tr:"service_name" }}."""
    if obj is None:
        return ""
    return str(obj.translated(field))
