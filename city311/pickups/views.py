"""When is my pickup? The page, its JSON twin and the address's calendar."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from city311.catalog.cache import catalog
from city311.cities import profile
from city311.pickups import calendars
from city311.pickups.lookup import Found, Place, Upcoming, find_place, on_routes, upcoming
from city311.pickups.models import Route, RouteDay


def _today() -> date:
    return timezone.now().astimezone(profile.zone()).date()


def _from(request: HttpRequest) -> date | str:
    """The first day to show: ?from=2027-05-24 to plan ahead, else today."""
    given = request.GET.get("from", "").strip()
    if not given:
        return _today()
    try:
        return date.fromisoformat(given)
    except ValueError:
        return _("from must be a date such as 2027-05-24.")


def _found(request: HttpRequest) -> Found | None:
    address, address_id = request.GET.get("address", ""), request.GET.get("address_id", "")
    if not address and not address_id:
        return None
    return find_place(address=address, address_id=address_id.strip()[:60])


@require_GET
def lookup_page(request: HttpRequest) -> HttpResponse:
    found, start = _found(request), _from(request)
    if isinstance(start, str):
        found = Found(problem=start)
    context: dict[str, Any] = {"section": "pickups", "address": request.GET.get("address", "")}
    if found is not None:
        context["found"] = found
        if found.place is not None and isinstance(start, date):
            items = upcoming(
                lat=found.place.lat,
                long=found.place.long,
                address_pk=found.place.address_pk,
                today=start,
                route_ids=found.place.route_ids,
            )
            context["upcoming"] = items
            context["late"] = late_today(items, _today())
            context["calendar"] = calendar_links(request, found.place)
    status = 400 if found is not None and found.problem else 200
    return render(request, "pickups/lookup.html", context, status=status)


def _json(item: Upcoming) -> dict[str, Any]:
    return {
        "collection": item.collection.code,
        "name": item.collection.translated("name"),
        "route": item.route.code,
        "next": [
            {
                "date": p.day.isoformat(),
                "planned": p.planned.isoformat(),
                "note": p.note,
                "cancelled": p.cancelled,
            }
            for p in item.pickups
        ],
    }


def _point(request: HttpRequest) -> Place | str:
    """?lat=&long=: a pin (an app's location) rather than an address."""
    try:
        lat, long = float(request.GET.get("lat", "")), float(request.GET.get("long", ""))
    except ValueError:
        return _("lat and long must be numbers, such as lat=40.67&long=-73.89.")
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        return _("lat and long must be numbers, such as lat=40.67&long=-73.89.")
    return Place(f"{lat:.6f},{long:.6f}", lat, long)


def _api_answer(
    request: HttpRequest, start: date
) -> tuple[dict[str, Any], list[Upcoming]] | JsonResponse:
    """Where the API was asked about (an address, a pin or a route) and its collections."""
    if request.GET.get("route"):
        route = Route.objects.filter(code=request.GET["route"].strip()[:60]).first()
        if route is None:
            return JsonResponse(
                {"error": _("No route has that code."), "field": "route"}, status=400
            )
        return {"route": route.code}, on_routes([route], start)
    if request.GET.get("lat") or request.GET.get("long"):
        place = _point(request)
        if isinstance(place, str):
            return JsonResponse({"error": place, "field": "lat"}, status=400)
        return {"lat": place.lat, "long": place.long}, upcoming(
            lat=place.lat, long=place.long, today=start
        )
    found = _found(request)
    if found is None:
        return JsonResponse(
            {"error": _("Give ?address=350 5th Ave, ?address_id=, ?lat=&long= or ?route=.")},
            status=400,
        )
    if found.problem:
        return JsonResponse({"error": found.problem}, status=400)
    if found.place is None:
        choices = [
            {"address": c.address, "address_id": c.address_id, "match": c.match}
            for c in found.choices
        ]
        return JsonResponse(
            {"error": _("Several addresses match: send one address_id."), "choices": choices},
            status=400,
        )
    place = found.place
    items = upcoming(
        lat=place.lat,
        long=place.long,
        address_pk=place.address_pk,
        today=start,
        route_ids=place.route_ids,
    )
    return {"address": place.label, "address_id": place.address_id}, items


@require_GET
def lookup_api(request: HttpRequest) -> JsonResponse:
    start = _from(request)
    if isinstance(start, str):
        return JsonResponse({"error": start, "field": "from"}, status=400)
    answer = _api_answer(request, start)
    if isinstance(answer, JsonResponse):
        return answer
    where, items = answer
    return JsonResponse({**where, "collections": [_json(item) for item in items]})


# Late routes: a banner on the lookup of an address whose route runs late today.


def late_today(items: list[Upcoming], today: date) -> list[RouteDay]:
    routes = {item.route.pk for item in items}
    late = catalog().derived("pickups.late", _late_days)
    return [row for row in late if row.route_id in routes and row.day == today]


def _late_days() -> list[RouteDay]:
    """Every route day announced late from yesterday on, as of the catalog version: a query
    with its join on every lookup page was a fifth of the page's CPU (bench/pickup_lookup.py
    --page --profile), for a banner shown a few days a year. Saving a route day (announcing
    or ending a late route, in the staff page or the admin) moves the version (pickups/apps.py).
    Shared between threads: read them, never change them."""
    return list(
        RouteDay.objects.filter(late_since__isnull=False, day__gte=_today() - timedelta(days=1))
        .exclude(late_note="")
        .select_related("route")
    )


# Calendars


def _host(request: HttpRequest) -> str:
    return request.get_host().split(":")[0] or "city311"


def _ics(request: HttpRequest, body: bytes, filename: str, *, public: bool) -> HttpResponse:
    etag = quote_etag(hashlib.sha256(body).hexdigest()[:32])
    cached = get_conditional_response(request, etag=etag)
    if cached is not None:
        return cached
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["ETag"] = etag
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # An address's days are public and the same for everyone; a booking's are the resident's.
    response["Cache-Control"] = "public, max-age=86400" if public else "private, no-store"
    return response


@require_GET
def address_ics(request: HttpRequest, address_id: str) -> HttpResponse:
    found = find_place(address_id=address_id[:60])
    if found.place is None:
        return HttpResponse(found.problem, status=404, content_type="text/plain; charset=utf-8")
    body = calendars.address_calendar(found.place, today=_today(), host=_host(request))
    return _ics(request, body, f"pickups-{address_id}.ics", public=True)


def calendar_links(request: HttpRequest, place: Place) -> dict[str, str]:
    if not place.address_id:
        return {}
    path = reverse("pickups:address_ics", args=[place.address_id])
    url = request.build_absolute_uri(path)
    return {"download": path, "subscribe": "webcal://" + url.split("://", 1)[1]}
