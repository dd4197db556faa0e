"""Subscribing an address to its pickup changes: the lookup page's form, its JSON twin, and
the confirm and stop links of the messages (no signing in: the signed link is the key)."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from city311.notifications import tokens
from city311.pickups import subscriptions
from city311.pickups.lookup import point_by_id
from city311.pickups.models import AddressSubscription
from city311.portal import limits
from city311.servicerequests.errors import RequestError


def _spend(request: HttpRequest, contact: str) -> limits.Limited | None:
    """Each confirmation is a message to someone: a robot cannot send them by the thousand
    (the booking limits' numbers an hour, counted apart)."""
    limited = limits.count(
        "pickup-subscribe-ip",
        limits.client_address(request),
        settings.CITY311_PICKUP_BOOKINGS_PER_IP,
    )
    if contact.strip():
        most = settings.CITY311_PICKUP_BOOKINGS_PER_CONTACT
        limited = limits.count("pickup-subscribe-contact", contact.strip().casefold(), most) or (
            limited
        )
    return limited


def _language(given: str) -> str:
    given = given.strip()[:8]
    return given if given in dict(settings.LANGUAGES) else (get_language() or "en")


@require_POST
def subscribe_page(request: HttpRequest) -> HttpResponse:
    """The lookup page's "tell me when my pickups change" form."""
    point = point_by_id(request.POST.get("address_id", "")[:60])
    context: dict[str, object] = {"section": "pickups", "point": point}
    if point is None:
        context["problem"] = _("No address has that id: search for the address instead.")
        return render(request, "pickups/subscribed.html", context, status=400)
    email, phone = request.POST.get("email", "")[:254], request.POST.get("phone", "")[:30]
    if _spend(request, email or phone) is not None:
        context["problem"] = _("Too many requests from you in a short time: try again later.")
        return render(request, "pickups/subscribed.html", context, status=429)
    try:
        found = subscriptions.subscribe(
            point,
            email=email,
            phone=phone,
            language=_language(request.POST.get("language", "")),
            by=request.user,
        )
    except RequestError as e:
        context["problem"] = e.message
        return render(request, "pickups/subscribed.html", context, status=400)
    context["subscription"] = found
    return render(request, "pickups/subscribed.html", context)


@csrf_exempt
@never_cache
@require_POST
def subscribe_api(request: HttpRequest) -> JsonResponse:
    """POST {"address_id", "email" or "phone", "language"}: 201, and a confirmation message
    goes out; changes are told once it is confirmed. The contact is never in an answer."""
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return JsonResponse({"error": _("Send a JSON object.")}, status=400)
    point = point_by_id(str(data.get("address_id", ""))[:60])
    if point is None:
        return JsonResponse(
            {
                "error": _("No address has that id: search for the address instead."),
                "field": "address_id",
            },
            status=400,
        )
    email, phone = str(data.get("email") or "")[:254], str(data.get("phone") or "")[:30]
    limited = _spend(request, email or phone)
    if limited is not None:
        response = JsonResponse(
            {
                "error": _("Too many requests from you in a short time: try again later."),
                "retry_after": limited.retry_after_s,
            },
            status=429,
        )
        response["Retry-After"] = str(limited.retry_after_s)
        return response
    try:
        found = subscriptions.subscribe(
            point, email=email, phone=phone, language=_language(str(data.get("language") or ""))
        )
    except RequestError as e:
        field = {"invalid_phone": "phone", "invalid_language": "language"}.get(e.code, "email")
        return JsonResponse({"error": e.message, "field": field}, status=400)
    return JsonResponse(
        {
            "address_id": point.source_id,
            "channels": found.channels,
            "confirmed": found.confirmed_at is not None,
        },
        status=201,
    )


def _opened(
    request: HttpRequest, kind: tokens.LinkKind, token: str
) -> AddressSubscription | HttpResponse:
    link, found = subscriptions.opened(kind, token)
    if link is None or found is None:
        return render(request, "notifications/invalid_link.html", status=404)
    if link.expired:
        return render(
            request,
            "pickups/subscription_link.html",
            {"expired": True, "subscription": found},
            status=410,
        )
    return found


@never_cache
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    found = _opened(request, subscriptions.CONFIRM, token)
    if isinstance(found, HttpResponse):
        return found
    with translation.override(found.language):
        subscriptions.confirm(found)
        return render(
            request, "pickups/subscription_link.html", {"confirmed": True, "subscription": found}
        )


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def stop(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks, POST stops (link checkers open every link; mail programs post here directly,
    RFC 8058, and the signed token proves the link came from a message)."""
    found = _opened(request, subscriptions.STOP, token)
    if isinstance(found, HttpResponse):
        return found
    with translation.override(found.language):
        if request.method == "POST":
            subscriptions.unsubscribe(found)
        return render(
            request,
            "pickups/subscription_link.html",
            {"stop": True, "done": request.method == "POST", "subscription": found},
        )
