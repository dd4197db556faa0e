"""When is my pickup? The page, its JSON twin and the address's calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from city311.cities import profile
from city311.pickups.lookup import Found, Upcoming, find_place, upcoming


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
            context["upcoming"] = upcoming(
                lat=found.place.lat,
                long=found.place.long,
                address_pk=found.place.address_pk,
                today=start,
            )
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


@require_GET
def lookup_api(request: HttpRequest) -> JsonResponse:
    found, start = _found(request), _from(request)
    if isinstance(start, str):
        return JsonResponse({"error": start}, status=400)
    if found is None:
        return JsonResponse(
            {"error": "Give ?address=350 5th Ave or ?address_id= (from /api/geocode)."},
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
            {"error": "Several addresses match: send one address_id.", "choices": choices},
            status=400,
        )
    place = found.place
    items = upcoming(lat=place.lat, long=place.long, address_pk=place.address_pk, today=start)
    return JsonResponse(
        {
            "address": place.label,
            "address_id": place.address_id,
            "collections": [_json(item) for item in items],
        }
    )
