"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language


def city(request: HttpRequest) -> dict[str, str]:
    return {
        "city_name": settings.CITY311_CITY_NAME,
        "city_phone": settings.CITY311_PHONE,
        "emergency_phone": settings.CITY311_EMERGENCY_PHONE,
        "city_hours": (
            settings.CITY311_HOURS_ES
            if (get_language() or "").startswith("es") and settings.CITY311_HOURS_ES
            else settings.CITY311_HOURS
        ),
        "outside_phone": settings.CITY311_OUTSIDE_PHONE,
    }
