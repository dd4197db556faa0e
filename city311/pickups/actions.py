"""Booking, changing and cancelling bulky-item pickups; the staff's capacity and late routes.

A booking files a service request of the city's bulky type through the one intake
(`servicerequests.intake.submit_request`) and takes one unit of its route-day's capacity in
the same transaction. Taking it is one conditional UPDATE of the day's counter
(`booked = booked + 1 WHERE booked < capacity`): on PostgreSQL a second booker's UPDATE waits
for the first's row lock and then re-reads the row; on SQLite the transaction holds the
database's write lock from its start (transaction_mode IMMEDIATE). Either way the database
decides, so no number of processes can book past the capacity (tests/test_pickup_bookings.py
races 16 of them). Item kinds with a daily capacity of their own (fridges) are taken the same
way, in items, on their RouteDayItem rows, in the same transaction.

When the city changes a route's schedule or adds an exception (a snow day), `follow_schedule`
moves every live booking to where the engine now puts its collection and tells its followers,
once, through the request's history (a `request.rescheduled` event: notifications' outbox).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from city311.cities import profile
from city311.geo.boundaries import Geometry
from city311.geo.models import AddressPoint
from city311.lib.outbox import OutboxStatus
from city311.notifications.models import Delivery
from city311.pickups import reminders, routes, subscriptions
from city311.pickups.booking import (
    Offer,
    bulky_schedule,
    cutoff,
    item_capacities,
    offer,
    open_days,
)
from city311.pickups.models import (
    AddressRoute,
    Booking,
    BookingRule,
    BookingStatus,
    BulkyItem,
    Collection,
    ExceptionAction,
    Payment,
    Route,
    RouteDay,
    RouteDayItem,
    RouteSchedule,
    ScheduleException,
)
from city311.pickups.routes import routes_at
from city311.pickups.schedule import Pickup, Rule, Schedules
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


def lock_days(route: Route, days: Iterable[date], default_capacity: int) -> None:
    """Lock the route's days a move touches, earliest first, before counting on them.

    The one lock order of this module: a booking's row (`_locked`; a route change locks all
    it may move, by id, before anything else), then its route's days by date, then their item
    counts. A move from Tuesday to Wednesday and one from Wednesday to Tuesday both lock
    Tuesday first, so on PostgreSQL one waits for the other instead of each holding the day
    the other needs (a deadlock). SQLite's write lock is whole-database: nothing to order."""
    ordered = sorted(set(days))
    RouteDay.objects.bulk_create(
        [RouteDay(route=route, day=day, capacity=default_capacity) for day in ordered],
        ignore_conflicts=True,
    )
    list(
        RouteDay.objects.select_for_update()
        .filter(route=route, day__in=ordered)
        .order_by("day")
        .values_list("pk", flat=True)
    )


def take_items(route: Route, day: date, items: dict[str, int]) -> str:
    """Take the items of kinds with a daily capacity of their own, atomically, like take_slot;
    the code of the first kind that does not fit, or "" when all did.

    Call inside the booking's transaction: when one kind does not fit, the caller raises and
    the transaction gives back what was taken."""
    limited = item_capacities()
    # In code order: two bookings lock the rows in the same order, so neither waits on the other.
    for code in sorted(c for c in items if c in limited):
        most, count = limited[code], items[code]
        RouteDayItem.objects.bulk_create(
            [RouteDayItem(route=route, day=day, item=code, capacity=most)], ignore_conflicts=True
        )
        # The item's capacity as the city sets it now: a row made before a change follows it.
        taken = RouteDayItem.objects.filter(
            route=route, day=day, item=code, booked__lte=most - count
        ).update(booked=F("booked") + count, capacity=most)
        if taken != 1:
            return code
    return ""


def release_items(route: Route, day: date, items: dict[str, int]) -> None:
    for code, count in items.items():
        RouteDayItem.objects.filter(route=route, day=day, item=code, booked__gte=count).update(
            booked=F("booked") - count
        )


def _items_full(code: str) -> BookingError:
    item = BulkyItem.objects.filter(code=code).first()
    name = item.translated("name") if item else code
    return BookingError(
        _("No more %(item)s can be collected that day: choose another day.") % {"item": name},
        code,
    )


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


def fee_for(items: dict[str, int], rule: BookingRule) -> Decimal:
    """What a booking of these items costs: the city's fee per booking plus each item's."""
    fees = dict(BulkyItem.objects.filter(code__in=items).values_list("code", "fee"))
    return rule.fee_per_booking + sum(
        (fees.get(code, Decimal(0)) * count for code, count in items.items()), Decimal(0)
    )


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
    offered = next(d for d in found.days if d.day == day)
    with transaction.atomic():
        if not take_slot(found.route, day, rule.daily_capacity):
            raise BookingError(_("That day has just been fully booked: choose another."), "day")
        if full := take_items(found.route, day, items):
            raise _items_full(full)
        try:
            sr = submit_request(sub, previewed=checked, by=by)
        except SubmissionInvalid as e:
            raise BookingError(_problems(e.errors)) from None
        return Booking.objects.create(
            request=sr,
            route=found.route,
            day=day,
            planned=offered.planned or day,
            address=point,
            items=items,
            place=place.strip()[:200],
            token=secrets.token_urlsafe(24),
            fee=fee_for(items, rule),
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
        release_items(booking.route, booking.day, booking.items)
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
        old_day, old_items = booking.day, booking.items
        if day != booking.day:
            schedule = bulky_schedule([booking.route], rule)
            days = open_days(schedule, rule, Schedules.load(), now) if schedule else []
            offered = next((d for d in days if d.day == day), None)
            if offered is None:
                raise BookingError(
                    _("%(day)s cannot be booked: choose one of the days offered.")
                    % {"day": day_words(day)},
                    "day",
                )
            lock_days(booking.route, [booking.day, day], rule.daily_capacity)
            if not take_slot(booking.route, day, rule.daily_capacity):
                raise BookingError(_("That day has just been fully booked: choose another."), "day")
            release_slot(booking.route, booking.day)
            booking.day, booking.planned = day, offered.planned or day
            # Reminders are of a day: the new day's are planned when due.
            reminders.forget_pending(booking.request_id)
        if items is not None:
            booking.items = items
            booking.fee = fee_for(items, rule)
        if (booking.day, booking.items) != (old_day, old_items):
            # Give the old day's items back first: a change on the same day re-counts them.
            release_items(booking.route, old_day, old_items)
            if full := take_items(booking.route, booking.day, booking.items):
                raise _items_full(full)
        booking.save(update_fields=["day", "planned", "items", "fee"])
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


# Fees


def set_payment(booking: Booking, payment: str, *, by: Actor) -> Booking:
    """Staff record what the city's payment system says: unpaid, paid or waived. Written in the
    request's history (internal), so who changed it and when is kept."""
    if payment not in Payment.values:
        raise BookingError(_("Choose unpaid, paid or waived."), "payment")
    with transaction.atomic():
        booking = _locked(booking)
        if booking.payment == payment:
            return booking
        booking.payment = payment
        booking.save(update_fields=["payment"])
        with translation.override("en"):
            note = f"Payment: {Payment(payment).label} ({booking.fee} due)."
        request_actions.add_note(booking.request, text=note, public=False, by=by)
    return booking


# Route changes: the city moves a schedule or adds an exception; bookings follow


@dataclass(frozen=True)
class Moved:
    """A booking a route change moved: from `old` to `new`. `wanted` is the day the engine now
    gives its collection; `new` differs when that day was full and the booking went to the
    route's next collection with room. `over`: no day with room in the booking window, so it
    is on `wanted` past the day's capacity (the staff are told to add room or call)."""

    booking: Booking
    old: date
    new: date
    wanted: date
    over: bool = False
    # The route it was on, when its address went to another route (follow_routes).
    old_route: Route | None = None

    @property
    def bumped(self) -> bool:
        return self.new != self.wanted


def follow_schedule(
    *, routes: Iterable[Route] | None = None, today: date, reasons: dict[str, str], by: Actor
) -> list[Moved]:
    """Move every live booking from `today` on to where the engine now puts its collection
    (after a route's rule or an exception changed), and tell its followers once, with both
    days. A move takes a place on the new day like a booking does: when the day is full, the
    booking goes to the route's next collection day with room, the resident is told why, and
    its request gets an internal note for the staff (see `Moved`). Bookings move in the order
    they were made, so the earliest keep the day. Idempotent: a booking already on its day is
    not touched, so running it again tells no one twice."""
    rule = BookingRule.current()
    with transaction.atomic():
        live = Booking.objects.filter(status=BookingStatus.BOOKED, day__gte=today)
        if routes is not None:
            live = live.filter(route__in=list(routes))
        # Every booking this change may move is locked first, by id (see lock_days): two
        # route changes at once then run one after the other, each seeing the other's result.
        ids = list(live.select_for_update().order_by("pk").values_list("pk", flat=True))
        # Read after the locks, so a change committed while we waited is in it.
        schedules = Schedules.load()
        rules: dict[int, Rule | None] = {}
        plans: list[tuple[Booking, Pickup, bool, Rule]] = []
        for booking in (
            Booking.objects.filter(pk__in=ids).select_related("route", "request").order_by("pk")
        ):
            if booking.route_id not in rules:
                schedule = bulky_schedule([booking.route], rule)
                rules[booking.route_id] = Rule.of(schedule) if schedule else None
            route_rule = rules[booking.route_id]
            if route_rule is None:
                continue
            pickup, still_planned = _where_now(schedules, route_rule, booking, today)
            if pickup is not None and pickup.day != booking.day:
                plans.append((booking, pickup, still_planned, route_rule))
        moved = _carry_out(
            [
                _Plan(
                    booking,
                    booking.route,
                    pickup,
                    still_planned,
                    _later_days(schedules, route_rule, pickup.day, rule),
                    reasons,
                )
                for booking, pickup, still_planned, route_rule in plans
            ],
            rule=rule,
            by=by,
        )
    return moved


def _where_now(
    schedules: Schedules, rule: Rule, booking: Booking, today: date
) -> tuple[Pickup | None, bool]:
    """Where the booking's collection is now: its planned collection's day if the rule still
    plans it and it is not cancelled; otherwise the route's next collection from its day.
    With whether the rule still plans the booking's planned day (cancelled or not)."""
    planned = booking.planned or booking.day
    start = max(today, min(planned, booking.day) - timedelta(days=7))
    found = schedules.pickups(rule, start, max(planned, booking.day) + timedelta(days=62))
    same = [p for p in found if p.planned == planned]
    if same and not same[0].cancelled:
        return same[0], True
    later = next((p for p in found if not p.cancelled and p.day >= booking.day), None)
    return later, bool(same)


def _later_days(
    schedules: Schedules, route_rule: Rule, wanted: date, rule: BookingRule
) -> list[Pickup]:
    """The route's collection days after `wanted` within a booking window: where a booking
    goes when `wanted` is full (not a cancelled day, not a holiday)."""
    return [
        p
        for p in schedules.pickups(
            route_rule, wanted + timedelta(days=1), wanted + timedelta(days=rule.window_days)
        )
        if not p.cancelled and not schedules.holiday(p.day)
    ]


class _NoRoom(Exception):
    """A day had the slot but not the items: its savepoint gives the slot back."""


def _take_for_move(booking: Booking, day: date, rule: BookingRule) -> bool:
    try:
        with transaction.atomic():
            if not take_slot(booking.route, day, rule.daily_capacity):
                return False
            if take_items(booking.route, day, booking.items):
                raise _NoRoom
    except _NoRoom:
        return False
    return True


@dataclass(frozen=True)
class _Plan:
    """A locked booking to move: to `route` (its own, or its address's new one), on `pickup`'s
    day or, when that is full, the first of `later` with room; residents told `reasons`."""

    booking: Booking
    route: Route
    pickup: Pickup
    still_planned: bool
    later: list[Pickup]
    reasons: dict[str, str]


def _carry_out(plans: list[_Plan], *, rule: BookingRule, by: Actor) -> list[Moved]:
    """Move the locked bookings of `plans`, in their order (the earliest booked keep the day):
    the days they leave and the days they want are locked in the one lock order (routes by
    id, each one's days by date: see lock_days), every booking leaves its day before any
    arrives (one leaving makes room for another), then each takes its place."""
    touched: dict[int, tuple[Route, set[date]]] = {}
    for plan in plans:
        booking = plan.booking
        touched.setdefault(booking.route_id, (booking.route, set()))[1].add(booking.day)
        touched.setdefault(plan.route.pk, (plan.route, set()))[1].add(plan.pickup.day)
    for route_id in sorted(touched):
        route, days = touched[route_id]
        lock_days(route, days, rule.daily_capacity)
    for plan in plans:
        release_slot(plan.booking.route, plan.booking.day)
        release_items(plan.booking.route, plan.booking.day, plan.booking.items)
    return [_move(plan, rule=rule, by=by) for plan in plans]


def _move(plan: _Plan, *, rule: BookingRule, by: Actor) -> Moved:
    """Move one locked booking whose place on its old day _carry_out gave back to its plan's
    route and day, or, when that day is full, to the first later day with room; past the
    capacity when none has."""
    booking, pickup = plan.booking, plan.pickup
    old, wanted, old_route = booking.day, pickup.day, booking.route
    booking.route = plan.route
    route = plan.route
    target, over = pickup, False
    if not _take_for_move(booking, wanted, rule):
        roomy = next((p for p in plan.later if _take_for_move(booking, p.day, rule)), None)
        if roomy is not None:
            target = roomy
        else:
            # No day with room in the window: the city's move stands on its day, past the
            # capacity; the staff hear of it below and on the day list ("42 of 40").
            over = True
            RouteDay.objects.filter(route=route, day=wanted).update(booked=F("booked") + 1)
            _force_items(route, wanted, booking.items)
    booking.day = target.day
    # The planned day stays while the rule still plans it (a snow day removed later brings
    # the booking back); a collection the rule no longer plans, or a later one, replaces it.
    if not plan.still_planned or target is not pickup:
        booking.planned = target.planned
    booking.save(update_fields=["route", "day", "planned"])
    done = Moved(booking, old, target.day, wanted, over, old_route=old_route)
    if done.new != old:
        told = _with_full_day(plan.reasons, done) if done.bumped else plan.reasons
        request_actions.record_rescheduled(
            booking.request, old=old, new=target.day, reasons=told, by=by
        )
        # Reminders are of a day: those not sent for the old day go, the new day's are
        # planned when due (even if the old day's already went out).
        reminders.forget_pending(booking.request_id)
    if done.bumped or over or route != old_route:
        request_actions.add_note(booking.request, text=_staff_note(done), public=False, by=by)
    return done


def _with_full_day(reasons: dict[str, str], done: Moved) -> dict[str, str]:
    """Each language's reason, and why the pickup is not on the route's new day."""
    told = {}
    for language, reason in reasons.items():
        with translation.override(language):
            full = _(
                "%(day)s was fully booked, so your pickup is on the route's next day with room."
                " You can choose another day from your booking's page."
            ) % {"day": day_words(done.wanted)}
        told[language] = f"{reason} {full}".strip()
    return told


def _staff_note(done: Moved) -> str:
    with translation.override("en"):
        said = []
        if done.old_route is not None and done.old_route.pk != done.booking.route_id:
            said.append(
                f"Routes redrawn: this address is now on route {done.booking.route.name}; "
                f"the pickup moved from route {done.old_route.name} on {day_words(done.old)} "
                f"to {day_words(done.new)}."
            )
        if done.over:
            said.append(
                f"Route change: {day_words(done.wanted)} and every day after it in the booking "
                "window are full, so this pickup is on that day past its capacity."
            )
        elif done.bumped:
            said.append(
                f"Route change: {day_words(done.wanted)} was full, so this pickup went to the "
                f"next day with room, {day_words(done.new)}."
            )
        return " ".join(said)


def _force_items(route: Route, day: date, items: dict[str, int]) -> None:
    for code, most in item_capacities().items():
        if code in items:
            RouteDayItem.objects.bulk_create(
                [RouteDayItem(route=route, day=day, item=code, capacity=most)],
                ignore_conflicts=True,
            )
            RouteDayItem.objects.filter(route=route, day=day, item=code).update(
                booked=F("booked") + items[code]
            )


def _reasons(reason: str, reason_es: str) -> dict[str, str]:
    reason, reason_es = reason.strip()[:200], reason_es.strip()[:200]
    if not reason:
        raise BookingError(
            _("Say why, for the residents it changes: for example, Snow emergency."), "reason"
        )
    return {"en": reason, **({"es": reason_es} if reason_es else {})}


def add_exception(
    *,
    day: date,
    action: str,
    reason: str,
    reason_es: str = "",
    moved_to: date | None = None,
    route: Route | None = None,
    collection: Collection | None = None,
    today: date,
    by: Actor,
) -> tuple[ScheduleException, list[Moved]]:
    """A dated change to one route or all (a snow day, a strike, an extra day); the bookings
    it moves follow, and their residents are told."""
    if action not in ExceptionAction.values:
        raise BookingError(_("Choose cancelled, moved or extra."), "action")
    if action == ExceptionAction.MOVE and (moved_to is None or moved_to == day):
        raise BookingError(_("Give the day the collection moves to."), "moved_to")
    if day < today:
        raise BookingError(_("The day has passed: give a day from today on."), "day")
    reasons = _reasons(reason, reason_es)
    with transaction.atomic():
        change = ScheduleException.objects.create(
            day=day,
            action=action,
            moved_to=moved_to if action == ExceptionAction.MOVE else None,
            route=route,
            collection=collection,
            reason=reasons["en"],
        )
        for language, text in reasons.items():
            if language != "en":
                change.translations.create(field="reason", language=language, text=text)
        moved = _follow_if_booked(collection, route, today, reasons, by)
        subscriptions.tell_subscribers(
            _routes(route), change=f"exception-{change.pk}", reasons=reasons
        )
    return change, moved


def remove_exception(
    change: ScheduleException, *, reason: str, reason_es: str = "", today: date, by: Actor
) -> list[Moved]:
    """Take an exception back (the snow cleared): bookings it moved go back to their day."""
    reasons = _reasons(reason, reason_es)
    with transaction.atomic():
        route, collection, key = change.route, change.collection, f"exception-{change.pk}-removed"
        change.delete()
        moved = _follow_if_booked(collection, route, today, reasons, by)
        subscriptions.tell_subscribers(_routes(route), change=key, reasons=reasons)
        return moved


def change_schedule(
    schedule: RouteSchedule,
    *,
    rule: str,
    reason: str,
    reason_es: str = "",
    today: date,
    by: Actor,
) -> list[Moved]:
    """A route's new rule for one collection (Wednesdays become Thursdays); bookings follow."""
    rule = rule.strip().upper()
    try:
        rrulestr(rule, dtstart=datetime.combine(schedule.starts, datetime.min.time()))
    except (ValueError, TypeError):
        raise BookingError(
            _("%(rule)s is not a rule such as FREQ=WEEKLY;BYDAY=TU.") % {"rule": rule[:100]},
            "rule",
        ) from None
    reasons = _reasons(reason, reason_es)
    with transaction.atomic():
        changed = schedule.rule != rule
        schedule.rule = rule
        schedule.save(update_fields=["rule"])
        moved = _follow_if_booked(schedule.collection, schedule.route, today, reasons, by)
        if changed:
            subscriptions.tell_subscribers(
                [schedule.route], change=f"schedule-{schedule.pk}-{rule}", reasons=reasons
            )
        return moved


def _routes(route: Route | None) -> list[Route] | None:
    """The routes a change is about; None for every route."""
    return [route] if route is not None else None


def _follow_if_booked(
    collection: Collection | None,
    route: Route | None,
    today: date,
    reasons: dict[str, str],
    by: Actor,
) -> list[Moved]:
    """Bookings are of one collection: a change to another one moves none."""
    if collection is not None and collection.code != BookingRule.current().collection_code:
        return []
    routes = [route] if route is not None else None
    return follow_schedule(routes=routes, today=today, reasons=reasons, by=by)


def follow_admin_change(route: Route | None, *, by: Actor) -> list[Moved]:
    """After an administrator changed a route's rules or an exception in the admin: bookings
    follow, told in every language the city speaks."""
    reasons = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            reasons[language] = _("The collection schedule changed.")
    now = timezone.now()
    today = now.astimezone(profile.zone()).date()
    with transaction.atomic():
        moved = follow_schedule(routes=_routes(route), today=today, reasons=reasons, by=by)
        # An admin save is one change, told once: its moment is its key.
        subscriptions.tell_subscribers(
            _routes(route), change=f"admin-{now.isoformat()}", reasons=reasons
        )
    return moved


# Routes redrawn: an address on another route takes its bookings and subscribers with it


def remap_and_follow(remap: Callable[[], int], *, by: Actor = None) -> tuple[int, list[Moved]]:
    """Map addresses to their routes again (`remap`: routes.remap, or routes.remap_areas for
    the areas an import changed) and, in the same transaction, have what hangs on the map
    follow: every live booking from today on at an address its route no longer collects moves
    to the route that does (`follow_routes`), and every confirmed subscriber of an address
    whose routes changed is told its new days. Returns the rows the remap wrote and the moves."""
    now = timezone.now()
    today = now.astimezone(profile.zone()).date()
    with transaction.atomic():
        before = subscriptions.routes_of_subscribed()
        written = remap()
        moved = follow_routes(today=today, by=by)
        subscriptions.tell_remapped(before, change=f"routes-{now.isoformat()}")
    return written, moved


def follow_new_areas(
    kind: str, before: dict[str, Geometry | None], after: dict[str, Geometry | None]
) -> int:
    """geo.boundaries.AREAS_CHANGED: an import redrew areas of `kind` (in its transaction)."""
    written, _moved = remap_and_follow(lambda: routes.remap_areas(kind, before, after))
    return written


def follow_routes(*, today: date, by: Actor) -> list[Moved]:
    """Move each live booking from `today` on whose address its route no longer collects (the
    areas were redrawn) to the route that collects bulky items there now: on that route's
    first collection from the booking's day, or, when it is full, its next day with room, as
    a schedule change moves bookings (`_carry_out`), the resident told in their language. A
    booking whose address no route collects any more stays, and the staff are told once.
    Idempotent: a booking on its address's route is not touched."""
    rule = BookingRule.current()
    on_its_route = AddressRoute.objects.filter(
        address_id=OuterRef("address_id"), route_id=OuterRef("route_id")
    )
    stray = Booking.objects.filter(
        status=BookingStatus.BOOKED, day__gte=today, address__isnull=False
    ).exclude(Exists(on_its_route))
    # Locked first, by id: the one lock order (lock_days).
    ids = list(stray.select_for_update().order_by("pk").values_list("pk", flat=True))
    if not ids:
        return []
    schedules = Schedules.load()
    plans: list[_Plan] = []
    for booking in (
        Booking.objects.filter(pk__in=ids)
        .select_related("route", "request", "address")
        .order_by("pk")
    ):
        point = booking.address
        assert point is not None
        now_routes = routes_at(address_pk=point.pk, lat=point.lat, long=point.long)
        if booking.route in now_routes:
            continue  # an address imported after the last remap: its areas still say so
        schedule = bulky_schedule(now_routes, rule)
        if schedule is None:
            _tell_staff_once(
                booking,
                "Routes redrawn: no route collects bulky items at this "
                f"address now; the pickup stays on route {booking.route.name}.",
            )
            continue
        days = [
            p
            for p in schedules.pickups(
                Rule.of(schedule), booking.day, booking.day + timedelta(days=rule.window_days)
            )
            if not p.cancelled and not schedules.holiday(p.day)
        ]
        if not days:
            continue
        plans.append(
            _Plan(
                booking,
                schedule.route,
                days[0],
                False,
                _later_days(schedules, Rule.of(schedule), days[0].day, rule),
                _new_route_reasons(schedule.route),
            )
        )
    return _carry_out(plans, rule=rule, by=by)


def _new_route_reasons(route: Route) -> dict[str, str]:
    reasons = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            reasons[language] = _(
                "The city redrew its collection routes: your address is now on the %(route)s route."
            ) % {"route": route.name}
    return reasons


def _tell_staff_once(booking: Booking, note: str) -> None:
    if not booking.request.events.filter(kind="request.note", note=note).exists():
        request_actions.add_note(booking.request, text=note, public=False, by=None)
