"""Collections as data: what is collected, the routes that collect it and on which days.

A route is one of the city's areas (a boundary of any kind: `pickup_route`, a service zone, a
district); each of its schedules is a recurrence rule (RFC 5545 RRULE, read by
python-dateutil) for one collection. The city's holiday rule and dated exceptions move or
cancel what the rules plan. `schedule.py` is the one reading of all of it.
"""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericRelation
from django.db import models

from city311.catalog.models import Translated, Translation, code_validator
from city311.geo.models import AddressPoint


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
