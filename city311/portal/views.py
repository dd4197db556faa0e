"""Resident pages: home, tracking a request by its number, the web app's manifest and worker.

Public: no personal data, no staff names.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control

from city311.catalog.models import ServiceType
from city311.catalog.queries import groups_for_residents
from city311.servicerequests.errors import NoSuchRequest
from city311.servicerequests.queries import get_by_tracking_number, history, popular_service_codes


def home(request: HttpRequest) -> HttpResponse:
    language = get_language() or "en"
    codes = popular_service_codes()
    by_code = ServiceType.objects.filter(service_code__in=codes, active=True).in_bulk(
        field_name="service_code"
    )
    popular = [by_code[c] for c in codes if c in by_code and not by_code[c].is_emergency]
    return render(
        request,
        "portal/home.html",
        {"groups": groups_for_residents(language), "popular": popular, "section": "home"},
    )


def track(request: HttpRequest) -> HttpResponse:
    """The form: a resident types the number from their confirmation."""
    number = request.GET.get("number", "").strip()
    if not number:
        return render(request, "portal/track.html", {"section": "track"})
    try:
        sr = get_by_tracking_number(number)
    except NoSuchRequest as e:
        return render(
            request,
            "portal/track.html",
            {"error": e.message, "number": number[:40], "section": "track"},
            status=404,
        )
    return redirect("portal:request", tracking_number=sr.tracking_number)


def public_request(request: HttpRequest, tracking_number: str) -> HttpResponse:
    try:
        sr = get_by_tracking_number(tracking_number)
    except NoSuchRequest as e:
        return render(
            request,
            "portal/track.html",
            {"error": e.message, "number": tracking_number[:40], "section": "track"},
            status=404,
        )
    if sr.tracking_number != tracking_number:
        return redirect("portal:request", tracking_number=sr.tracking_number)
    return render(
        request,
        "portal/request.html",
        {
            "sr": sr,
            "events": history(sr, public_only=True),
            "department": sr.department.translated("name") if sr.department else "",
            "section": "track",
        },
    )


@cache_control(max_age=3600, public=True)
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest: the portal installs on a phone's home screen."""
    name = f"{settings.CITY311_CITY_NAME} 311"
    return JsonResponse(
        {
            "name": name,
            "short_name": "311",
            "description": _("Report a problem to the city and follow what it does about it."),
            "start_url": "/?source=app",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#162e51",
            "lang": get_language() or "en",
            "icons": [
                {"src": static("portal/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": static("portal/icon-512.png"), "sizes": "512x512", "type": "image/png"},
                {
                    "src": static("portal/icon-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
                {"src": static("portal/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
            ],
        },
        content_type="application/manifest+json",
    )


def recent(request: HttpRequest) -> HttpResponse:
    return redirect("home")


def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from the root so its scope is the whole portal."""
    response = render(request, "portal/sw.js", content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response
