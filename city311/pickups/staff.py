"""The department's pages: a day's bookings per route in route order (printable, phone-sized),
the day's capacity, a late route, and closing a booking with what was collected."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from city311.accounts.decorators import staff_required
from city311.pickups import access, actions, queries
from city311.pickups.models import Booking, Route
from city311.pickups.views import _today

FOR_STAFF = "This page is for the staff of the department that collects bulky items."


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


@require_GET
@staff_required(can=access.can_see_pickup_days, message=FOR_STAFF)
def day_list(request: HttpRequest) -> HttpResponse:
    given = request.GET.get("day", "")
    day = _day(given) or _today()
    status = 400 if given and _day(given) is None else 200
    context = {
        "day": day,
        "previous": day - timedelta(days=1),
        "next": day + timedelta(days=1),
        "routes": queries.day_lists(day),
        "can_manage": access.can_manage_pickups(request.user),
        "problem": "Give the day as 2027-06-02." if status == 400 else "",
    }
    return render(request, "pickups/staff_day.html", context, status=status)


def _back(day: date) -> HttpResponse:
    return redirect(reverse("pickups:staff") + f"?day={day.isoformat()}")


@require_POST
@staff_required(can=access.can_manage_pickups, message=FOR_STAFF)
def set_capacity(request: HttpRequest) -> HttpResponse:
    route = get_object_or_404(Route, code=request.POST.get("route", ""))
    day = _day(request.POST.get("day", ""))
    try:
        capacity = int(request.POST.get("capacity", ""))
    except ValueError:
        capacity = -1
    if day is None:
        return HttpResponse("Give the day as 2027-06-02.", status=400)
    try:
        actions.set_capacity(route, day, capacity, by=request.user)
    except actions.BookingError as e:
        messages.error(request, e.message)
        return _back(day)
    messages.success(request, f"{route.name} takes {capacity} bookings on {day.isoformat()}.")
    return _back(day)


@require_POST
@staff_required(can=access.can_manage_pickups, message=FOR_STAFF)
def mark_late(request: HttpRequest) -> HttpResponse:
    route = get_object_or_404(Route, code=request.POST.get("route", ""))
    day = _day(request.POST.get("day", ""))
    if day is None:
        return HttpResponse("Give the day as 2027-06-02.", status=400)
    actions.mark_late(route, day, note=request.POST.get("note", ""), by=request.user)
    return _back(day)


@require_POST
@staff_required(can=access.can_manage_pickups, message=FOR_STAFF)
def close_booking(request: HttpRequest, pk: int) -> HttpResponse:
    booking = get_object_or_404(Booking, pk=pk)
    collected = request.POST.get("collected") == "yes"
    try:
        actions.close_booking(
            booking, collected=collected, note=request.POST.get("note", ""), by=request.user
        )
    except actions.BookingError as e:
        messages.error(request, e.message)
    return _back(booking.day)
