"""Booking a bulky-item pickup: the form, the confirmation (change and cancel without signing
in, by the secret link) and the booking's calendar entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from city311.geo.models import AddressPoint
from city311.pickups import actions, calendars
from city311.pickups.booking import Offer, bulky_schedule, offer, open_days
from city311.pickups.forms import BookingForm, ChangeForm
from city311.pickups.lookup import find_place
from city311.pickups.models import Booking, BookingRule, BookingStatus, BulkyItem
from city311.pickups.schedule import Schedules
from city311.pickups.views import _host, _ics, _today
from city311.portal import limits
from city311.servicerequests.actions import Actor


@dataclass
class BookingScreen:
    """The booking form for one address: its days, the items, the city's rule. One piece for
    the resident's page and the call taker's console, so both offer and book alike."""

    point: AddressPoint
    rule: BookingRule
    offer: Offer
    form: BookingForm

    @classmethod
    def of(cls, address_pk: int, posted: QueryDict | None) -> BookingScreen:
        point = AddressPoint.objects.get(pk=address_pk)
        rule = BookingRule.current()
        offered = offer(
            lat=point.lat, long=point.long, address_pk=point.pk, now=timezone.now(), rule=rule
        )
        items = list(BulkyItem.objects.filter(accepted=True))
        return cls(point, rule, offered, BookingForm(posted, days=offered.days, items=items))

    def context(self) -> dict[str, Any]:
        return {
            "offer": self.offer,
            "form": self.form,
            "rule": self.rule,
            "refused": [i for i in BulkyItem.by_code().values() if not i.accepted],
            "problem": self.offer.problem,
        }

    def ready(self) -> bool:
        """A POST with good answers for a bookable address."""
        return self.form.is_bound and not self.offer.problem and self.form.is_valid()

    def book(self, *, language: str, channel: str = "web", by: Actor = None) -> Booking:
        """Book what the form says (call `ready` first). Raises actions.BookingError."""
        data = self.form.cleaned_data
        who = actions.Who(
            data["first_name"], data["last_name"], data["email"], data["phone"], language
        )
        return actions.book_pickup(
            self.point,
            day=date.fromisoformat(data["day"]),
            items=self.form.chosen_items(),
            place=data["place"],
            who=who,
            channel=channel,
            by=by,
        )


@never_cache
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    address_id = (request.GET.get("address_id") or request.POST.get("address_id") or "")[:60]
    found = find_place(address_id=address_id) if address_id else None
    if found is None or found.place is None or found.place.address_pk is None:
        return redirect(reverse("pickups:lookup"))
    screen = BookingScreen.of(found.place.address_pk, request.POST or None)
    context: dict[str, Any] = {"section": "pickups", "place": found.place, **screen.context()}
    limited: limits.Limited | None = None
    if screen.ready():
        data = screen.form.cleaned_data
        limited = spend(request, [data["email"], data["phone"]])
    if limited is not None:
        context["problem"] = _(
            "We have received many bookings from you in a short time, so we cannot take "
            "another one now. Please try again after %(time)s."
        ) % {"time": time_format(timezone.localtime(limited.retry_at))}
    elif screen.ready():
        try:
            booking = screen.book(language=get_language())
        except actions.BookingError as e:
            context["problem"] = e.message
        else:
            return redirect(reverse("pickups:booking", args=[booking.token]))
    failed = bool(context["problem"]) or (request.method == "POST" and screen.form.errors)
    status = 429 if limited is not None else 400 if failed else 200
    response = render(request, "pickups/book.html", context, status=status)
    if limited is not None:
        response["Retry-After"] = str(limited.retry_after_s)
    return response


def spend(request: HttpRequest, contacts: list[str]) -> limits.Limited | None:
    """Count one booking from this connection and these contacts: a robot cannot fill a day's
    capacity (CITY311_PICKUP_BOOKINGS_PER_IP and _PER_CONTACT an hour)."""
    per_ip = settings.CITY311_PICKUP_BOOKINGS_PER_IP
    limited = limits.count("booking-ip", limits.client_address(request), per_ip)
    for contact in contacts:
        if contact:
            most = settings.CITY311_PICKUP_BOOKINGS_PER_CONTACT
            limited = limits.count("booking-contact", contact.strip().casefold(), most) or limited
    return limited


def _booking(token: str) -> Booking:
    booking = Booking.objects.select_related("request", "route").filter(token=token[:48]).first()
    if booking is None:
        raise Http404(_("There is no such booking: check the link in your confirmation."))
    return booking


@never_cache
@require_http_methods(["GET", "POST"])
def booking_page(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking(token)
    rule = BookingRule.current()
    now = timezone.now()
    schedule = bulky_schedule([booking.route], rule)
    days = [
        d
        for d in (open_days(schedule, rule, Schedules.load(), now) if schedule else [])
        if d.day != booking.day
    ]
    form = ChangeForm(request.POST or None, days=days)
    problem = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "missed":
                actions.report_missed(booking, today=_today())
                return redirect(reverse("pickups:booking", args=[token]) + "?missed=1")
            if request.POST.get("action") == "cancel":
                actions.cancel_booking(booking)
                return redirect(reverse("pickups:booking", args=[token]) + "?cancelled=1")
            if form.is_valid():
                actions.change_booking(booking, day=date.fromisoformat(form.cleaned_data["day"]))
                return redirect(reverse("pickups:booking", args=[token]) + "?changed=1")
            problem = " ".join(str(e) for e in form.errors.get("day", []))
        except actions.BookingError as e:
            problem = e.message
    deadline = actions.manage_deadline(booking)
    context = {
        "section": "pickups",
        "booking": booking,
        "items": actions.items_words(booking.items),
        "rule": rule,
        "deadline": deadline,
        "can_manage": booking.status == BookingStatus.BOOKED and now < deadline,
        "can_report_missed": booking.status != BookingStatus.CANCELLED
        and _today() >= booking.day
        and not request.GET.get("missed"),
        "form": form,
        "problem": problem,
        "ics": reverse("pickups:booking_ics", args=[token]),
    }
    return render(request, "pickups/booking.html", context, status=400 if problem else 200)


@require_GET
def booking_ics(request: HttpRequest, token: str) -> HttpResponse:
    booking = _booking(token)
    url = request.build_absolute_uri(reverse("pickups:booking", args=[token]))
    body = calendars.booking_calendar(booking, host=_host(request), url=url)
    return _ics(request, body, f"pickup-{booking.request.tracking_number}.ics", public=False)
