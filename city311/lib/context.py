"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def city(request: HttpRequest) -> dict[str, str]:
    return {
        "city_name": settings.CITY311_CITY_NAME,
        "city_phone": settings.CITY311_PHONE,
        "emergency_phone": settings.CITY311_EMERGENCY_PHONE,
        "city_hours": settings.CITY311_HOURS,
        "outside_phone": settings.CITY311_OUTSIDE_PHONE,
    }
