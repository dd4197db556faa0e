"""Resident pages: home, tracking a request by its number, the web app's manifest and worker.

Public: no personal data, no staff names.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control

from city311.catalog import cache as catalog_cache
from city311.catalog.queries import groups_for_residents
from city311.cities import profile
from city311.contacts import hours as call_centre_hours
from city311.portal.public import render_page
from city311.portal.queries import (
    MAP_DAYS,
    MAP_POINTS,
    districts,
    filters_from,
    recent_requests,
)
from city311.servicerequests.errors import NoSuchRequest
from city311.servicerequests.queries import get_by_tracking_number, popular_service_codes


def home(request: HttpRequest) -> HttpResponse:
    language = get_language() or "en"
    found = [catalog_cache.active_type(code) for code in popular_service_codes()]
    popular = [t for t in found if t is not None and not t.is_emergency]
    return render(
        request,
        "portal/home.html",
        {
            "groups": groups_for_residents(language),
            "popular": popular,
            "section": "home",
            "people": call_centre_hours.availability(),
        },
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
    return render_page(request, sr)


@cache_control(max_age=3600, public=True)
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest: the portal installs on a phone's home screen."""
    name = profile.current().brand_name
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
    """Recent requests, newest first, as a list (and a map where JavaScript runs)."""
    filters = filters_from(request.GET)
    page = recent_requests(filters, before=_int(request.GET.get("before")))
    context = {
        "page": page,
        "filters": filters,
        "types": sorted(catalog_cache.active_types(), key=lambda t: t.service_name),
        "districts": districts(),
        "query": _query_without_paging(request),
        "map_points": MAP_POINTS,
        "map_days": MAP_DAYS,
        "tiles": getattr(settings, "CITY311_MAP_TILES", ""),
        "section": "recent",
    }
    template = "portal/recent_results.html" if request.headers.get("HX-Request") else None
    return render(request, template or "portal/recent.html", context)


def _int(text: str | None) -> int | None:
    # isascii: "²" is a digit to isdigit() but not a number int() reads.
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 19 else None


def _query_without_paging(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("before", None)
    return params.urlencode()


def offline(request: HttpRequest) -> HttpResponse:
    """What the service worker shows on a dead connection, cached per language at install.

    ?saved=1: the report was kept on the phone and will be sent when the connection returns.
    """
    language = request.GET.get("lang", "")
    if language not in dict(settings.LANGUAGES):
        language = get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        return render(
            request,
            "portal/offline.html",
            {"saved": request.GET.get("saved") == "1", "section": ""},
        )


SHELL_FILES = (
    "vendor/uswds/css/uswds.min.css",
    "vendor/htmx/htmx.min.js",
    "portal/portal.css",
    "portal/portal.js",
    "portal/icon.svg",
    "portal/icon-192.png",
    "portal/icon-512.png",
)


def shell_version() -> str:
    """Changes whenever a file the worker keeps changes, so phones fetch the new one.

    With hashed static names the URLs change; without them (development) the files' times do.
    """
    parts = [static(name) for name in SHELL_FILES]
    for name in SHELL_FILES:
        found = finders.find(name)
        if isinstance(found, str):
            parts.append(str(os.stat(found).st_mtime_ns))
    template = Path(__file__).resolve().parent.parent / "templates" / "portal" / "sw.js"
    parts.append(str(template.stat().st_mtime_ns))
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]


def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served from the root so its scope is the whole portal."""
    response = render(
        request,
        "portal/sw.js",
        {"version": shell_version(), "languages": [code for code, _name in settings.LANGUAGES]},
        content_type="text/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on every visit; it must never come from a cache.
    response["Cache-Control"] = "no-cache"
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 page, in the reader's language, with the reason when the code gave one for
    people. Django's own showed an address that matches no page as "Resolver404" (the
    exception's class name), and `get_object_or_404`'s English words for developers."""
    message = exception.args[0] if exception is not None and exception.args else ""
    if not isinstance(message, str) or message.endswith("matches the given query."):
        message = ""
    return render(request, "404.html", {"message": message}, status=404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 page, for a request whose body cannot be read (a charset other than UTF-8,
    a multipart body without its boundary).

    Django's own handler checks the CSRF token again, which reads the same unreadable body and
    fails again: a 500. This one reads nothing from the body.
    """
    encoding = "UTF-8" in str(exception or "")
    return render(
        request,
        "400.html",
        {"encoding": encoding, "phone": settings.CITY311_PHONE},
        status=400,
    )
