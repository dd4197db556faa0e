"""The caller asks when their pickup is, or to book a bulky-item pickup: the call taker types
the address, reads out the next days (the pickups engine, as on the resident's lookup page)
and books for the caller with the same action the portal uses, filed by phone."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from city311.cities import profile
from city311.console import calls
from city311.console.views import _call_taker
from city311.contacts.models import Kind
from city311.pickups import actions
from city311.pickups.booking_views import BookingScreen
from city311.pickups.lookup import Found, find_place, upcoming
from city311.servicerequests.models import Channel


@_call_taker
@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    address, address_id = data.get("address", "")[:200], data.get("address_id", "")[:60]
    context: dict[str, Any] = {"address": address}
    if not (address or address_id):
        return render(request, "console/pickups.html", context)
    # The caller's address is the first thing done for them: their contact starts now.
    calls.in_hand(request)
    found = find_place(address=address, address_id=address_id.strip())
    context["found"] = found
    if found.place is None:
        return render(request, "console/pickups.html", context, status=_status(found))
    today = timezone.now().astimezone(profile.zone()).date()
    place = found.place
    context["upcoming"] = upcoming(
        lat=place.lat,
        long=place.long,
        address_pk=place.address_pk,
        today=today,
        route_ids=place.route_ids,
    )
    if place.address_pk is None:
        return render(request, "console/pickups.html", context)
    booked = _book(request, place.address_pk, context)
    if booked is not None:
        return booked
    failed = request.method == "POST"
    return render(request, "console/pickups.html", context, status=400 if failed else 200)


def _status(found: Found) -> int:
    return 400 if found.problem else 200


def _book(request: HttpRequest, address_pk: int, context: dict[str, Any]) -> HttpResponse | None:
    """The booking form for the caller; on a good POST, the booking filed by phone."""
    screen = BookingScreen.of(address_pk, request.POST if request.method == "POST" else None)
    context |= screen.context()
    if not screen.ready():
        return None
    language = _language(request.POST.get("language", ""))
    try:
        booking = screen.book(language=language, channel=Channel.PHONE, by=request.user)
    except actions.BookingError as e:
        context["problem"] = e.message
        return None
    calls.end_call(request, kind=Kind.NEW_REQUEST, request=booking.request)
    return redirect("console:filed", tracking_number=booking.request.tracking_number)


def _language(given: str) -> str:
    return given if given in dict(settings.LANGUAGES) else "en"
