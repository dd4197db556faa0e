"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def city(request: HttpRequest | None = None) -> dict[str, Any]:
    """The city's name, phones, hours and look, as every page and message shows them."""
    # Imported here: lib is below every app, and the city's profile is an app's.
    from city311.cities import profile

    city = profile.current()
    return {
        "city_name": city.name,
        "city_phone": city.phone,
        "emergency_phone": city.emergency_phone,
        "city_hours": city.hours,
        "outside_phone": city.outside_phone,
        "brand_name": city.brand_name,
        "brand_logo": city.has_logo,
        "brand_logo_version": city.logo_version,
        "brand_primary": city.primary_hex,
        "brand_secondary": city.secondary_hex,
        "map_center": city.map_center,
        "map_zoom": city.map_zoom,
        "tracking_example": city.tracking_example,
    }
