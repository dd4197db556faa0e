"""JSON lookups for the portal's and console's forms: where is it, is it already reported.

Public by design: nothing here carries a resident's personal data.
"""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse as url_for
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from city311.catalog import cache as catalog_cache
from city311.catalog.search import suggest
from city311.geo import geocoding
from city311.geo.around import Box, BoxProblem, around
from city311.geo.boundaries import areas_at
from city311.geo.locate import in_city, outside_referral
from city311.lib import phones
from city311.lib.text import redact
from city311.portal.queries import (
    MAP_POINTS,
    Bbox,
    city_limits_geojson,
    filters_from,
    map_points,
)
from city311.servicerequests.intake import duplicate_offers
from city311.triage import prompts as triage

MAX_QUERY = 200


def _problem(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _candidate(c: geocoding.Candidate) -> dict[str, Any]:
    return {
        "address": c.address,
        "lat": round(c.lat, 6),
        "long": round(c.long, 6),
        "confidence": round(c.confidence, 2),
        "match": c.match,
        "address_id": c.address_id,
    }


def _point(request: HttpRequest) -> tuple[float, float] | JsonResponse:
    try:
        lat, long = float(request.GET["lat"]), float(request.GET["long"])
    except (KeyError, ValueError):
        return _problem("Give lat and long as numbers, for example ?lat=40.6782&long=-73.9442.")
    if not (
        math.isfinite(lat) and math.isfinite(long) and -90 <= lat <= 90 and -180 <= long <= 180
    ):
        return _problem("lat must be within -90..90 and long within -180..180.")
    return lat, long


@require_GET
def suggest_services(request: HttpRequest) -> JsonResponse:
    """Service types for a resident's own words: "there's a big hole in the road".

    The words are read for an emergency first: `"emergency": true` comes with the number to
    call (and the crisis line when someone may harm themselves), before any service.
    """
    text = request.GET.get("q", "").strip()[:MAX_QUERY]
    language = request.GET.get("language", "") or get_language() or ""
    found = triage.check(text, channel="api", language=language)
    answer = {"query": text, **triage.api_answer(found)}
    suggestion = suggest(text, limit=6)
    return JsonResponse(
        {
            **answer,
            # False when no service stands out: show the groups too, not only these.
            "sure": suggestion.sure,
            "services": [
                {
                    "service_code": t.service_code,
                    "service_name": t.service_name,
                    "group": t.group,
                    "urgent": t.is_urgent,
                    "score": score,
                }
                for t, score in suggestion.types
            ],
        }
    )


@require_GET
def geocode(request: HttpRequest) -> JsonResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    if not query:
        return _problem("Give the address or place to find as ?q=, for example ?q=123 Main Street.")
    if geocoding.get_index().is_outside(query):
        # "10 Main St, Hoboken NJ": no street inside the city, and where to go instead.
        return JsonResponse(
            {"query": query, "candidates": [], "in_city": False, "referral": outside_referral()}
        )
    return JsonResponse(
        {
            "query": query,
            "candidates": [_candidate(c) for c in geocoding.geocode(query, limit=5)],
            "in_city": True,
            "referral": "",
        }
    )


@require_GET
def autocomplete(request: HttpRequest) -> JsonResponse:
    prefix = request.GET.get("q", "").strip()[:MAX_QUERY]
    suggestions = geocoding.autocomplete(prefix, limit=8) if len(prefix) >= 2 else []
    return JsonResponse({"query": prefix, "suggestions": [_candidate(c) for c in suggestions]})


@require_GET
def reverse(request: HttpRequest) -> JsonResponse:
    point = _point(request)
    if isinstance(point, JsonResponse):
        return point
    lat, long = point
    nearest = geocoding.reverse(lat, long)
    areas = areas_at(lat, long)
    inside = in_city(lat, long)
    return JsonResponse(
        {
            "lat": lat,
            "long": long,
            "in_city": inside,
            "referral": "" if inside else outside_referral(),
            "nearest_address": _candidate(nearest)
            | {"distance_m": round(nearest.distance_m or 0, 1)}
            if nearest
            else None,
            "areas": [{"kind": a.kind, "code": a.code, "name": a.name} for a in areas],
        }
    )


@require_GET
def duplicates(request: HttpRequest) -> JsonResponse:
    """Open requests of a type near a point: "is it one of these?"."""
    code = request.GET.get("service_code", "")
    service_type = catalog_cache.active_type(code)
    if service_type is None:
        return _problem(f"There is no service {code[:60]!r}: give ?service_code= from the list.")
    point = _point(request)
    if isinstance(point, JsonResponse):
        return point
    found = duplicate_offers(service_type, *point)
    return JsonResponse(
        {
            "service_code": code,
            "requests": [
                {
                    "tracking_number": sr.tracking_number,
                    "service_name": sr.service_type.service_name,
                    "status": sr.get_status_display(),
                    "address": sr.address_string,
                    "requested_at": sr.requested_at.isoformat(),
                    "distance_m": round(d, 1),
                    "status_notes": redact(sr.status_notes, phones.region()),
                }
                for sr, d in found
            ],
        }
    )


@require_GET
def city_limits(request: HttpRequest) -> HttpResponse:
    """The city limits, simplified, for the maps' blank base when no tile server is set."""
    response = HttpResponse(city_limits_geojson(), content_type="application/geo+json")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def map_around(request: HttpRequest) -> HttpResponse:
    """The city's own address points, street names, places and area lines in a street-level
    box: the maps' base when the city has no tile server. Public data from the city's files."""
    try:
        west, south, east, north = (float(part) for part in request.GET["bbox"].split(","))
        box = Box.snapped(west, south, east, north)
    except (KeyError, ValueError) as e:
        message = str(e) if isinstance(e, BoxProblem) else ""
        return _problem(
            message
            or "Give bbox as west,south,east,north in degrees, for example "
            "?bbox=-73.9400,40.6675,-73.9300,40.6725."
        )
    response = HttpResponse(around(box), content_type="application/geo+json")
    # Changes only when the city imports new geography.
    response["Cache-Control"] = "public, max-age=3600"
    return response


def _bbox(text: str) -> Bbox | JsonResponse | None:
    if not text:
        return None
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        return _problem("Give bbox as west,south,east,north in degrees.")
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        return _problem("Give bbox as west,south,east,north in degrees.")
    return {"west": west, "south": south, "east": east, "north": north}


@require_GET
def recent_requests_geojson(request: HttpRequest) -> JsonResponse:
    """Recent requests as GeoJSON points for the public map: public fields only, capped."""
    bbox = _bbox(request.GET.get("bbox", ""))
    if isinstance(bbox, JsonResponse):
        return bbox
    filters = filters_from(request.GET)
    # One reverse() for all the points: per point it was a third of the answer's time.
    page_url = url_for("portal:request", args=["NUMBER"]).replace("NUMBER", "{}")
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(p.long, 5), round(p.lat, 5)]},
            "properties": {
                "tracking_number": p.tracking_number,
                "service_code": p.service_code,
                "service_name": p.service_name,
                "status": "closed" if p.closed else "open",
                "status_words": p.status_words,
                "requested_at": p.requested_at.isoformat(),
                "url": page_url.format(p.tracking_number),
            },
        }
        for p in map_points(filters, bbox)
    ]
    response = JsonResponse(
        {"type": "FeatureCollection", "features": features, "capped": len(features) >= MAP_POINTS},
        content_type="application/geo+json",
    )
    # Public data that changes by the minute: a browser panning back and forth reuses it.
    response["Cache-Control"] = "public, max-age=60"
    return response
