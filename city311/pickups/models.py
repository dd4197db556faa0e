"""Collections as data: what is collected, the routes that collect it and on which days.

A route is one of the city's areas (a boundary of any kind: `pickup_route`, a service zone, a
district); each of its schedules is a recurrence rule (RFC 5545 RRULE, read by
python-dateutil) for one collection. The city's holiday rule and dated exceptions move or
cancel what the rules plan. `schedule.py` is the one reading of all of it.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from city311.catalog.models import Translated, Translation, code_validator
from city311.geo.models import AddressPoint
from city311.lib.outbox import OutboxItem, outbox_indexes


class Collection(Translated, models.Model):
    """What a truck collects: trash, recycling, bulky items (booked or on the route's day)."""

    translatable = ("name",)

    code = models.SlugField(max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=0)
    translations = GenericRelation(Translation)

    class Meta:
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name


class Slide(models.TextChoices):
    NONE = "none", "Collected on the holiday as usual"
    OWN_DAY = "own_day", "Only the holiday's own collection moves a day later"
    REST_OF_WEEK = "rest_of_week", "The holiday's and the rest of that week's move a day later"
    SKIP = "skip", "The holiday's collection is cancelled"


class HolidayRule(models.Model):
    """How the city's collections meet its holidays: one row, for every route."""

    slide = models.CharField(max_length=20, choices=Slide.choices, default=Slide.NONE)
    # Holiday names as the holidays package gives them (observed dates count); empty: every
    # public holiday of the city's region.
    holidays = models.TextField(blank=True, help_text="One holiday name per line.")
    # A window (e.g. 24 Dec - 2 Jan) in which every collection moves `window_days` later.
    window_start = models.CharField(max_length=5, blank=True, help_text="MM-DD")
    window_end = models.CharField(max_length=5, blank=True, help_text="MM-DD")
    window_days = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return self.get_slide_display()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.holidays.splitlines() if n.strip())


class Route(models.Model):
    code = models.CharField(max_length=60, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    # The area this route collects: a boundary of the city's geography.
    area_kind = models.CharField(max_length=30)
    area_code = models.CharField(max_length=60)
    # Where the truck starts: route order is a nearest-next walk from here.
    depot_lat = models.FloatField(null=True, blank=True)
    depot_long = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class RouteSchedule(models.Model):
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="schedules")
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="schedules")
    # An RFC 5545 recurrence rule: FREQ=WEEKLY;BYDAY=TU, FREQ=WEEKLY;INTERVAL=2;BYDAY=FR,
    # FREQ=MONTHLY;BYDAY=+1WE. Every other week counts from `starts`.
    rule = models.CharField(max_length=200)
    starts = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["route", "collection"], name="one_schedule_per_route")
        ]

    def __str__(self) -> str:
        return f"{self.route} {self.collection}: {self.rule}"


class ExceptionAction(models.TextChoices):
    CANCEL = "cancel", "Cancelled"
    MOVE = "move", "Moved to another day"
    EXTRA = "extra", "An extra collection"


class ScheduleException(Translated, models.Model):
    """One dated change: a snow suspension, a strike, a one-off extra day."""

    translatable = ("reason",)

    day = models.DateField(help_text="The collection day it changes (or the extra day).")
    action = models.CharField(max_length=10, choices=ExceptionAction.choices)
    moved_to = models.DateField(null=True, blank=True)
    # Empty: every route / every collection.
    route = models.ForeignKey(Route, null=True, blank=True, on_delete=models.CASCADE)
    collection = models.ForeignKey(Collection, null=True, blank=True, on_delete=models.CASCADE)
    reason = models.CharField(max_length=200)
    translations = GenericRelation(Translation)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.get_action_display()} ({self.reason})"


class AddressRoute(models.Model):
    """Which routes collect at an address: worked out once, when addresses or routes change,
    so a lookup is one indexed read rather than a polygon test."""

    address = models.ForeignKey(AddressPoint, on_delete=models.CASCADE, related_name="+")
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["address", "route"], name="address_route_once")
        ]

    def __str__(self) -> str:
        return f"address {self.address_id} on route {self.route_id}"


# Bookings: bulky items collected by appointment within a day's capacity.


class BookingRule(models.Model):
    """How the city books bulky-item pickups: one row (WasteWorks' cobrand settings)."""

    # The collection booked (its route days are the bookable days) and the service type a
    # booking files: a booking *is* a service request of that type.
    collection_code = models.CharField(max_length=40, default="bulky")
    service_code = models.CharField(max_length=100, default="bulky")
    # The service type's question that lists the items (a multivaluelist), answered from the
    # items booked (each item's `answer`); empty when the type asks nothing.
    items_attribute = models.CharField(max_length=100, blank=True)
    # Its question for how many items (a number), answered with the total booked.
    count_attribute = models.CharField(max_length=100, blank=True)
    window_days = models.PositiveSmallIntegerField(
        default=56, help_text="How far ahead residents may book (DSNY: 28, Peterborough: 56)."
    )
    cutoff_time = models.TimeField(
        default=time(14, 0), help_text="Bookings, changes and cancellations close at this time..."
    )
    cutoff_working_days = models.PositiveSmallIntegerField(
        default=1, help_text="...this many working days before the collection."
    )
    daily_capacity = models.PositiveIntegerField(
        default=40, help_text="Bookings a route takes a day, unless the day says otherwise."
    )
    items_per_booking = models.PositiveSmallIntegerField(default=10)
    bookings_per_year = models.PositiveSmallIntegerField(
        default=0, help_text="Per address and calendar year; 0 for no limit."
    )
    set_out = models.CharField(
        max_length=200,
        default="Put the items at the kerb after 6 PM the evening before, and by 6 AM.",
    )
    # Reminders go out from this hour (city time) three days and one day before.
    reminder_hour = models.PositiveSmallIntegerField(default=9)
    # What a booking costs on top of its items' fees (0: free). Shown and recorded; payment
    # itself is the city's own system.
    fee_per_booking = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0"), help_text="0 when it is free."
    )
    # Where residents pay (the city's own payment page), linked from the confirmation.
    payment_url = models.URLField("payment URL", blank=True)

    def __str__(self) -> str:
        return f"Bookings of {self.collection_code}"

    @classmethod
    def current(cls) -> BookingRule:
        """The city's rule, or the defaults when it has not set one."""
        return cls.objects.first() or cls()


class BulkyItem(Translated, models.Model):
    """An item a resident may list, with its limit; or one refused, with where to take it."""

    translatable = ("name", "refused_note")

    code = models.SlugField(max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(max_length=120)
    max_per_booking = models.PositiveSmallIntegerField(default=2)
    accepted = models.BooleanField(default=True)
    # Its value in the service type's items question (BookingRule.items_attribute).
    answer = models.CharField(max_length=100, blank=True)
    refused_note = models.CharField(
        max_length=300, blank=True, help_text="For a refused item: where to take it instead."
    )
    # Items of this kind a route takes a day, over all bookings (a truck carries so many
    # fridges: their refrigerant is drained apart); empty: only the route's day capacity counts.
    daily_capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Of this item, per route and day; empty for no limit."
    )
    fee = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0"), help_text="Per item; 0 when free."
    )
    order = models.PositiveSmallIntegerField(default=0)
    translations = GenericRelation(Translation)

    class Meta:
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def listed(cls, items: dict[str, int]) -> str:
        """{couch: 1, fridge: 1} as "1 (times) Couch, 1 (times) Fridge", in the active language.

        No query: the items and their translations are read once per catalog version (a
        reminder worker names the items of 100,000 bookings; a query each was a quarter of a
        message's time, bench/pickup_reminders.py). Saving an item moves the version
        (pickups/apps.py), so a renamed item shows at once in this process."""
        known = cls.by_code()
        return ", ".join(
            f"{count} {TIMES} {known[code].translated('name') if code in known else code}"
            for code, count in items.items()
        )

    @classmethod
    def by_code(cls) -> dict[str, BulkyItem]:
        """Every item by code, translations attached, as of the current catalog version.
        Shared between threads: read them, never change them."""
        # Imported here: the catalog cache reads the catalog's models, below this app's.
        from city311.catalog.cache import attach_texts, catalog

        return catalog().derived(
            "pickups.items", lambda: {i.code: i for i in attach_texts(list(cls.objects.all()))}
        )


TIMES = "\u00d7"  # the multiplication sign


class RouteDay(models.Model):
    """One route's day: its capacity, the bookings taken, and whether it runs late.

    `booked` is the counter a booking takes in one conditional UPDATE (actions.take_slot):
    the database, not the code, makes sure it never passes `capacity`.
    """

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    capacity = models.PositiveIntegerField()
    booked = models.PositiveIntegerField(default=0)
    # Announced by staff: shown on the lookup page for addresses of the route that day.
    late_note = models.CharField(max_length=200, blank=True)
    late_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["day", "route"]
        constraints = [
            models.UniqueConstraint(fields=["route", "day"], name="route_day_once"),
        ]

    def __str__(self) -> str:
        return f"{self.route} {self.day}: {self.booked}/{self.capacity}"


class RouteDayItem(models.Model):
    """One route's day for one item kind that has a daily capacity of its own (fridges).

    Counted in items, taken like RouteDay in one conditional UPDATE (actions.take_items)."""

    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    item = models.CharField(max_length=40)
    capacity = models.PositiveIntegerField()
    booked = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["route", "day", "item"], name="route_day_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.route} {self.day} {self.item}: {self.booked}/{self.capacity}"


class Payment(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")
    WAIVED = "waived", _("Waived")


class BookingStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    CANCELLED = "cancelled", "Cancelled"
    COLLECTED = "collected", "Collected"
    NOT_COLLECTED = "not_collected", "Not collected"


class Booking(models.Model):
    """A bulky-item appointment: the service request it filed, its day and what is set out.

    The resident's contact is the request's Contact (personal data, kept apart); the secret
    `token` lets them see, change and cancel it from the confirmation without signing in.
    """

    request = models.OneToOneField(
        "servicerequests.ServiceRequest", on_delete=models.CASCADE, related_name="pickup_booking"
    )
    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="bookings")
    day = models.DateField()
    # The day the route's rule planned (before holidays and exceptions): when the schedule
    # changes, the booking follows this collection to its new day (actions.follow_schedule).
    planned = models.DateField(null=True, blank=True)
    address = models.ForeignKey(
        AddressPoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # {item code: count}
    items = models.JSONField(default=dict)
    place = models.CharField("where the items are left", max_length=200, blank=True)
    status = models.CharField(
        max_length=16, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    token = models.CharField(max_length=48, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=300, blank=True)
    # The amount due when it was booked (the city's fees then); payment is the city's own
    # system: staff record what it says.
    fee = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))
    payment = models.CharField(max_length=8, choices=Payment.choices, default=Payment.UNPAID)

    class Meta:
        indexes = [
            # The crews' day list and the reminders: a day's live bookings.
            models.Index(
                fields=["day", "route"],
                name="booking_live_day",
                condition=models.Q(status="booked"),
            ),
            # The per-household yearly limit.
            models.Index(fields=["address", "day"], name="booking_address_day"),
        ]

    def __str__(self) -> str:
        return f"Booking {self.pk} on {self.day}"

    @property
    def items_label(self) -> str:
        return BulkyItem.listed(self.items)

    @property
    def manage_url(self) -> str:
        """The secret link to see, change or cancel it (messages carry it; never log it)."""
        path = reverse("pickups:booking", args=[self.token])
        return settings.CITY311_SITE_URL.rstrip("/") + path


class AddressSubscription(models.Model):
    """Someone told when the pickups at an address change (a snow day, a new route day),
    booking or not. The consent rules are the request followers' (notifications.Follower):
    the first message asks them to confirm by its link (at once when staff sign them up),
    every message carries a stop link, and a number that replied STOP gets no more texts.
    Their address and number are personal data: never log them."""

    address = models.ForeignKey(AddressPoint, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(blank=True)
    # E.164, so an inbound STOP matches it.
    phone = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    sms_stopped_at = models.DateTimeField("SMS stopped at", null=True, blank=True)

    # What a stop marks their unsent messages with (notifications.actions.unsubscribe).
    stopped_detail = "unsubscribed"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["address", "email"], condition=~models.Q(email=""), name="sub_one_email"
            ),
            models.UniqueConstraint(
                fields=["address", "phone"], condition=~models.Q(phone=""), name="sub_one_phone"
            ),
        ]
        # STOP by SMS: every subscription of the number that wrote.
        indexes = [models.Index(fields=["phone"], name="sub_phone", condition=~models.Q(phone=""))]

    def __str__(self) -> str:
        # Never the address or number: this text can end up in logs and admin messages.
        return f"Subscription {self.pk} to address {self.address_id}"

    @property
    def channels(self) -> list[str]:
        """One way: by e-mail when given, else by SMS while the number has not said STOP."""
        if self.email:
            return ["email"]
        return ["sms"] if self.phone and self.sms_stopped_at is None else []

    def contact(self, channel: str) -> str:
        return self.email if channel == "email" else self.phone

    def outgoing(self) -> models.QuerySet[SubscriptionNotice]:
        """The messages to them, sent or not."""
        return self.notices.all()


class NoticeKind(models.TextChoices):
    CONFIRM = "confirm", "Confirmation"
    CHANGE = "change", "Pickup change"


class SubscriptionNotice(OutboxItem):
    """One message to one subscriber on one channel (the confirmation, or a change to the
    pickups at their address): an outbox row (city311.lib.outbox), sent by the notifications'
    transports. The unique (subscription, kind, change, channel) is the idempotency key: a
    change is told once, however often it is planned."""

    subscription = models.ForeignKey(
        AddressSubscription, on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(max_length=10, choices=NoticeKind.choices)
    # Which change ("exception-12-added", "schedule-3-…"); empty for the confirmation.
    change = models.CharField(max_length=80, blank=True)
    # Why, by language ({"en": "Snow emergency", "es": ...}).
    reasons = models.JSONField(default=dict)
    channel = models.CharField(max_length=8)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind", "change", "channel"], name="notice_once"
            )
        ]
        # Due notices and dead workers' claims (pickups.subscriptions.send_notices).
        indexes = outbox_indexes("pickupnotice")

    def __str__(self) -> str:
        return f"Notice {self.pk}: {self.kind} by {self.channel}, {self.status}"
