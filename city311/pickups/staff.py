"""The department's pages: a day's bookings per route in route order (printable, phone-sized),
the day's capacity, a late route, and closing a booking with what was collected."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from city311.accounts.decorators import staff_required
from city311.pickups import access, actions, queries
from city311.pickups.models import (
    Booking,
    Collection,
    ExceptionAction,
    Payment,
    Route,
    RouteSchedule,
    ScheduleException,
)
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
        "payments": Payment.choices,
        "problem": _("Give the day as 2027-06-02.") if status == 400 else "",
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
        return HttpResponse(_("Give the day as 2027-06-02."), status=400)
    try:
        actions.set_capacity(route, day, capacity, by=request.user)
    except actions.BookingError as e:
        messages.error(request, e.message)
        return _back(day)
    messages.success(
        request,
        _("%(route)s takes %(count)s bookings on %(day)s.")
        % {"route": route.name, "count": capacity, "day": day.isoformat()},
    )
    return _back(day)


@require_POST
@staff_required(can=access.can_manage_pickups, message=FOR_STAFF)
def mark_late(request: HttpRequest) -> HttpResponse:
    route = get_object_or_404(Route, code=request.POST.get("route", ""))
    day = _day(request.POST.get("day", ""))
    if day is None:
        return HttpResponse(_("Give the day as 2027-06-02."), status=400)
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


@require_POST
@staff_required(can=access.can_manage_pickups, message=FOR_STAFF)
def set_payment(request: HttpRequest, pk: int) -> HttpResponse:
    """What the city's payment system says of a booking's fee: unpaid, paid or waived."""
    booking = get_object_or_404(Booking, pk=pk)
    try:
        actions.set_payment(booking, request.POST.get("payment", ""), by=request.user)
    except actions.BookingError as e:
        messages.error(request, e.message)
    return _back(booking.day)


# Route changes: exceptions (a snow day, an extra day) and a route's rule. Bookings follow.


def _changes_context(problem: str = "") -> dict[str, object]:
    return {
        "today": _today(),
        "routes": Route.objects.order_by("code"),
        "collections": Collection.objects.all(),
        "schedules": RouteSchedule.objects.select_related("route", "collection").order_by(
            "route__code", "collection__order"
        ),
        "exceptions": ScheduleException.objects.filter(
            day__gte=_today() - timedelta(days=7)
        ).select_related("route", "collection"),
        "actions": ExceptionAction.choices,
        "problem": problem,
    }


@require_http_methods(["GET", "POST"])
@staff_required(can=access.can_manage_pickups, message=FOR_STAFF)
def changes(request: HttpRequest) -> HttpResponse:
    """Exceptions and route schedules: a change that moves booked pickups tells each resident."""
    if request.method == "GET":
        return render(request, "pickups/staff_changes.html", _changes_context())
    try:
        moved = _change(request)
    except actions.BookingError as e:
        return render(
            request, "pickups/staff_changes.html", _changes_context(e.message), status=400
        )
    messages.success(
        request,
        _("Saved. %(count)s booked pickups moved; their residents are told.")
        % {"count": len(moved)},
    )
    _tell_full_days(request, moved)
    return redirect(reverse("pickups:staff_changes"))


def _tell_full_days(request: HttpRequest, moved: list[actions.Moved]) -> None:
    """The moves that did not land on the route's new day, by reference, for the staff."""
    bumped = [m for m in moved if m.bumped]
    if bumped:
        messages.warning(
            request,
            _(
                "%(count)s did not fit on their new day and went to the next day with room: "
                "%(list)s."
            )
            % {"count": len(bumped), "list": _listed(bumped, "new")},
        )
    over = [m for m in moved if m.over]
    if over:
        messages.error(
            request,
            _("%(count)s found no day with room and are past the capacity of: %(list)s.")
            % {"count": len(over), "list": _listed(over, "wanted")},
        )


def _listed(moved: list[actions.Moved], which: str) -> str:
    return ", ".join(
        f"{m.booking.request.tracking_number} ({getattr(m, which):%Y-%m-%d})" for m in moved[:50]
    )


def _change(request: HttpRequest) -> list[actions.Moved]:
    """The change the form asks for; the bookings it moved."""
    post, today, what = request.POST, _today(), request.POST.get("what", "")
    reasons = {"reason": post.get("reason", ""), "reason_es": post.get("reason_es", "")}
    if what == "remove":
        change = get_object_or_404(ScheduleException, pk=_int(post.get("exception", "")))
        return actions.remove_exception(change, today=today, by=request.user, **reasons)
    if what == "schedule":
        schedule = get_object_or_404(RouteSchedule, pk=_int(post.get("schedule", "")))
        return actions.change_schedule(
            schedule, rule=post.get("rule", ""), today=today, by=request.user, **reasons
        )
    day = _day(post.get("day", ""))
    if day is None:
        raise actions.BookingError(_("Give the day as 2027-06-02."), "day")
    _added, moved = actions.add_exception(
        day=day,
        action=post.get("action", ""),
        moved_to=_day(post.get("moved_to", "")),
        route=_route(post.get("route", "")),
        collection=_collection(post.get("collection", "")),
        today=today,
        by=request.user,
        **reasons,
    )
    return moved


def _int(value: str) -> int:
    return int(value) if value.strip().isdigit() else 0


def _route(code: str) -> Route | None:
    """The route the form names; none (empty) means every route."""
    found = Route.objects.filter(code=code.strip()).first() if code.strip() else None
    if code.strip() and found is None:
        raise actions.BookingError(_("No such route: %(code)s.") % {"code": code[:60]}, "route")
    return found


def _collection(code: str) -> Collection | None:
    """The collection the form names; none (empty) means every collection."""
    found = Collection.objects.filter(code=code.strip()).first() if code.strip() else None
    if code.strip() and found is None:
        raise actions.BookingError(
            _("No such collection: %(code)s.") % {"code": code[:60]}, "collection"
        )
    return found
