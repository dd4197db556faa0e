"""Booking, changing and cancelling bulky-item pickups; the staff's capacity and late routes.

A booking files a service request of the city's bulky type through the one intake
(`servicerequests.intake.submit_request`) and takes one unit of its route-day's capacity in
the same transaction. Taking it is one conditional UPDATE of the day's counter
(`booked = booked + 1 WHERE booked < capacity`): on PostgreSQL a second booker's UPDATE waits
for the first's row lock and then re-reads the row; on SQLite the transaction holds the
database's write lock from its start (transaction_mode IMMEDIATE). Either way the database
decides, so no number of processes can book past the capacity (tests/test_pickup_bookings.py
races 16 of them).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.db.models import F
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from city311.cities import profile
from city311.geo.models import AddressPoint
from city311.lib.outbox import OutboxStatus
from city311.notifications.models import Delivery
from city311.pickups.booking import Offer, bulky_schedule, cutoff, offer, open_days
from city311.pickups.models import (
    Booking,
    BookingRule,
    BookingStatus,
    BulkyItem,
    Route,
    RouteDay,
)
from city311.pickups.schedule import Schedules
from city311.servicerequests import actions as request_actions
from city311.servicerequests.actions import SAYS_NOT_FIXED, Actor
from city311.servicerequests.errors import SubmissionInvalid
from city311.servicerequests.intake import preview, submit_request
from city311.servicerequests.models import Resolution
from city311.servicerequests.validation import Submission


class BookingError(Exception):
    """Why a booking, change or cancellation cannot be made, in words for the resident."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Who:
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    language: str = "en"


# Capacity


def take_slot(route: Route, day: date, default_capacity: int) -> bool:
    """Take one booking of the route's day, atomically; False when the day is full.

    Call inside the booking's transaction: a failure after it gives the slot back."""
    # The day's row appears on its first booking; two first bookings insert one row.
    RouteDay.objects.bulk_create(
        [RouteDay(route=route, day=day, capacity=default_capacity)], ignore_conflicts=True
    )
    taken = RouteDay.objects.filter(route=route, day=day, booked__lt=F("capacity")).update(
        booked=F("booked") + 1
    )
    return taken == 1


def release_slot(route: Route, day: date) -> None:
    RouteDay.objects.filter(route=route, day=day, booked__gt=0).update(booked=F("booked") - 1)


def set_capacity(route: Route, day: date, capacity: int, *, by: Actor) -> RouteDay:
    """Staff set a day's capacity. Below what is booked it takes no more (none is undone)."""
    if capacity < 0 or capacity > 10_000:
        raise BookingError(_("Capacity must be a number from 0 to 10000."), "capacity")
    row, _created = RouteDay.objects.get_or_create(
        route=route, day=day, defaults={"capacity": capacity}
    )
    RouteDay.objects.filter(pk=row.pk).update(capacity=capacity)
    row.refresh_from_db()
    return row


def mark_late(route: Route, day: date, *, note: str, by: Actor) -> RouteDay:
    """Announce (or, with an empty note, end) a late route; residents of it see it that day."""
    rule = BookingRule.current()
    row, _created = RouteDay.objects.get_or_create(
        route=route, day=day, defaults={"capacity": rule.daily_capacity}
    )
    row.late_note = note.strip()[:200]
    row.late_since = timezone.now() if row.late_note else None
    row.save(update_fields=["late_note", "late_since"])
    return row


# Items


def checked_items(given: dict[str, int], rule: BookingRule) -> dict[str, int]:
    """The items as {code: count}, or a BookingError saying what to change."""
    known = {item.code: item for item in BulkyItem.objects.all()}
    items: dict[str, int] = {}
    for code, count in given.items():
        if not count:
            continue
        item = known.get(code)
        if item is None:
            raise BookingError(_("Unknown item %(code)r: choose from the list.") % {"code": code})
        name = item.translated("name")
        if not item.accepted:
            refused = _("We do not collect %(item)s.") % {"item": name}
            raise BookingError(f"{refused} {item.translated('refused_note')}".strip(), code)
        if count < 0 or count > item.max_per_booking:
            raise BookingError(
                _("At most %(max)s of %(item)s a booking.")
                % {"max": item.max_per_booking, "item": name},
                code,
            )
        items[code] = count
    if not items:
        raise BookingError(_("List at least one item to collect."), "items")
    if sum(items.values()) > rule.items_per_booking:
        raise BookingError(
            _("At most %(max)s items a booking: book another day for the rest.")
            % {"max": rule.items_per_booking},
            "items",
        )
    return items


def items_words(items: dict[str, int]) -> str:
    return BulkyItem.listed(items)


def day_words(day: date) -> str:
    return formats.date_format(day, "l, j F Y")


# Booking


def book_pickup(
    point: AddressPoint,
    *,
    day: date,
    items: dict[str, int],
    place: str,
    who: Who,
    channel: str = "web",
    now: datetime | None = None,
    by: Actor = None,
) -> Booking:
    """Book a pickup at an address point: a request of the bulky type, filed through the one
    intake, and one unit of the day's capacity. Raises BookingError saying what to change."""
    now = now or timezone.now()
    rule = BookingRule.current()
    items = checked_items(items, rule)
    if not (who.email.strip() or who.phone.strip()):
        raise BookingError(
            _("Give an e-mail address or a phone number, for the confirmation and reminders."),
            "email",
        )
    found = _day_offered(point, day, rule, now)
    assert found.route is not None
    _check_yearly_limit(point, day, rule)
    sub = _submission(point, day, items, place, who, rule, channel)
    checked = preview(sub, duplicates=0, now=now)
    if not checked.ok:
        raise BookingError(_problems(checked.errors))
    with transaction.atomic():
        if not take_slot(found.route, day, rule.daily_capacity):
            raise BookingError(_("That day has just been fully booked: choose another."), "day")
        try:
            sr = submit_request(sub, previewed=checked, by=by)
        except SubmissionInvalid as e:
            raise BookingError(_problems(e.errors)) from None
        return Booking.objects.create(
            request=sr,
            route=found.route,
            day=day,
            address=point,
            items=items,
            place=place.strip()[:200],
            token=secrets.token_urlsafe(24),
        )


def _day_offered(point: AddressPoint, day: date, rule: BookingRule, now: datetime) -> Offer:
    found = offer(lat=point.lat, long=point.long, address_pk=point.pk, now=now, rule=rule)
    if found.problem:
        raise BookingError(found.problem)
    if day not in {d.day for d in found.days}:
        raise BookingError(
            _("%(day)s cannot be booked at this address: choose one of the days offered.")
            % {"day": day_words(day)},
            "day",
        )
    return found


def _check_yearly_limit(point: AddressPoint, day: date, rule: BookingRule) -> None:
    if not rule.bookings_per_year:
        return
    made = (
        Booking.objects.filter(address=point, day__year=day.year)
        .exclude(status=BookingStatus.CANCELLED)
        .count()
    )
    if made >= rule.bookings_per_year:
        raise BookingError(
            _("This address has had its %(count)s bookings for %(year)s.")
            % {"count": rule.bookings_per_year, "year": day.year}
        )


def _submission(
    point: AddressPoint,
    day: date,
    items: dict[str, int],
    place: str,
    who: Who,
    rule: BookingRule,
    channel: str,
) -> Submission:
    # The request's description is public (Open311): items and where they are, never who.
    with translation.override("en"):
        description = f"Bulky item pickup on {day_words(day)}: {items_words(items)}."
    if place.strip():
        description += f" Left at: {place.strip()[:200]}."
    return Submission(
        service_code=rule.service_code,
        channel=channel,
        description=description,
        # The address point's id places the request exactly as the lookup did.
        address_id=point.source_id,
        lat=None if point.source_id else point.lat,
        long=None if point.source_id else point.long,
        first_name=who.first_name,
        last_name=who.last_name,
        email=who.email,
        phone=who.phone,
        language=who.language,
        answers=_answers(items, rule),
    )


def _answers(items: dict[str, int], rule: BookingRule) -> dict[str, str | list[str]]:
    """The bulky type's items question, answered from the items booked."""
    if not rule.items_attribute:
        return {}
    keys = (
        BulkyItem.objects.filter(code__in=items).exclude(answer="").values_list("answer", flat=True)
    )
    return {rule.items_attribute: sorted(set(keys))}


def _problems(errors: dict[str, list[str]]) -> str:
    return " ".join(" ".join(str(m) for m in messages) for messages in errors.values())


# Changing and cancelling


def _locked(booking: Booking) -> Booking:
    # Two tabs (or a resident and a crew) acting on one booking at once: one waits.
    return Booking.objects.select_for_update().select_related("route", "request").get(pk=booking.pk)


def _before_cutoff(booking: Booking, rule: BookingRule, now: datetime, doing: str) -> None:
    if booking.status != BookingStatus.BOOKED:
        raise BookingError(
            _("This booking is %(status)s.") % {"status": booking.get_status_display().lower()}
        )
    if now >= cutoff(rule, Schedules.load(), booking.day):
        raise BookingError(
            _("It is too late to %(doing)s this booking online: please call 311.")
            % {"doing": doing}
        )


def cancel_booking(booking: Booking, *, now: datetime | None = None, by: Actor = None) -> Booking:
    """Cancel up to the cut-off: the slot is given back and the request closed as cancelled."""
    now = now or timezone.now()
    rule = BookingRule.current()
    with transaction.atomic():
        booking = _locked(booking)
        _before_cutoff(booking, rule, now, _("cancel"))
        booking.status = BookingStatus.CANCELLED
        booking.save(update_fields=["status"])
        release_slot(booking.route, booking.day)
        _cancel_reminders(booking)
        request_actions.close_request(
            booking.request,
            resolution=Resolution.CANCELLED,
            note=_("The bulky-item pickup was cancelled."),
            by=by,
        )
    return booking


def _cancel_reminders(booking: Booking) -> None:
    """Reminders queued but not yet sent are no longer wanted."""
    Delivery.objects.filter(
        request_id=booking.request_id,
        kind__startswith="pickup.reminder",
        status=OutboxStatus.PENDING,
    ).update(status=OutboxStatus.CANCELLED, detail="booking cancelled")


def change_booking(
    booking: Booking,
    *,
    day: date,
    items: dict[str, int] | None = None,
    now: datetime | None = None,
    by: Actor = None,
) -> Booking:
    """Move a booking to another offered day (and change its items) up to the cut-off."""
    now = now or timezone.now()
    rule = BookingRule.current()
    items = checked_items(items, rule) if items is not None else None
    with transaction.atomic():
        booking = _locked(booking)
        _before_cutoff(booking, rule, now, _("change"))
        if day != booking.day:
            schedule = bulky_schedule([booking.route], rule)
            days = open_days(schedule, rule, Schedules.load(), now) if schedule else []
            if day not in {d.day for d in days}:
                raise BookingError(
                    _("%(day)s cannot be booked: choose one of the days offered.")
                    % {"day": day_words(day)},
                    "day",
                )
            if not take_slot(booking.route, day, rule.daily_capacity):
                raise BookingError(_("That day has just been fully booked: choose another."), "day")
            release_slot(booking.route, booking.day)
            booking.day = day
        if items is not None:
            booking.items = items
        booking.save(update_fields=["day", "items"])
        with translation.override("en"):
            note = f"Pickup moved to {day_words(booking.day)}: {items_words(booking.items)}."
        request_actions.add_note(booking.request, text=note, public=True, by=by)
    return booking


def report_missed(booking: Booking, *, today: date) -> Booking:
    """The resident says the items are still there: a public update on the booking's request
    (reopening it if the crew closed it). Held back on the day while the route is announced
    late, as WasteWorks does: the crew is still coming."""
    if booking.status == BookingStatus.CANCELLED:
        raise BookingError(_("This booking is cancelled."))
    if today < booking.day:
        raise BookingError(
            _("Your pickup is on %(day)s: tell us after that day if it is missed.")
            % {"day": day_words(booking.day)}
        )
    late = RouteDay.objects.filter(route=booking.route, day=booking.day).exclude(late_note="")
    if today == booking.day and late.exists():
        raise BookingError(
            _("The crew is running late today and will still come: leave the items out.")
        )
    with transaction.atomic():
        booking = _locked(booking)
        request_actions.add_resident_update(
            booking.request,
            text=_("The resident says the items were not collected."),
            says=SAYS_NOT_FIXED,
            label="pickup booking page",
        )
        if booking.status == BookingStatus.COLLECTED:
            booking.status = BookingStatus.NOT_COLLECTED
        booking.outcome = "Reported missed by the resident."
        booking.save(update_fields=["status", "outcome"])
    return booking


def close_booking(booking: Booking, *, collected: bool, note: str, by: Actor) -> Booking:
    """The crew's word: collected, or not and why. Closes the request."""
    with transaction.atomic():
        booking = _locked(booking)
        if booking.status != BookingStatus.BOOKED:
            raise BookingError(_("This booking is already closed."))
        booking.status = BookingStatus.COLLECTED if collected else BookingStatus.NOT_COLLECTED
        booking.outcome = note.strip()[:300]
        booking.save(update_fields=["status", "outcome"])
        request_actions.close_request(
            booking.request,
            resolution=Resolution.COMPLETED if collected else Resolution.NO_ACTION,
            note=booking.outcome or (_("Collected.") if collected else _("Not collected.")),
            by=by,
        )
    return booking


def manage_deadline(booking: Booking) -> datetime:
    return cutoff(BookingRule.current(), Schedules.load(), booking.day).astimezone(profile.zone())
