"""Resident pages: tracking a request by its number. Public: no personal data, no staff names."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from city311.servicerequests.errors import NoSuchRequest
from city311.servicerequests.queries import get_by_tracking_number, history


def track(request: HttpRequest) -> HttpResponse:
    """The form: a resident types the number from their confirmation."""
    number = request.GET.get("number", "").strip()
    if not number:
        return render(request, "portal/track.html", {})
    try:
        sr = get_by_tracking_number(number)
    except NoSuchRequest as e:
        return render(
            request, "portal/track.html", {"error": e.message, "number": number[:40]}, status=404
        )
    return redirect("portal:request", tracking_number=sr.tracking_number)


def public_request(request: HttpRequest, tracking_number: str) -> HttpResponse:
    try:
        sr = get_by_tracking_number(tracking_number)
    except NoSuchRequest as e:
        return render(
            request,
            "portal/track.html",
            {"error": e.message, "number": tracking_number[:40]},
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
            "department": sr.department.name if sr.department else "",
        },
    )
