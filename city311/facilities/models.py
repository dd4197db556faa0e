"""The city's places and what happens in them: facilities with their hours, events, notices.

Hours are structured data (`OpeningRule`, `HoursException`, the facility's holiday rule), read
by the one opening-hours engine (`lib/openinghours.py`) through `facilities/hours.py`.
Residents' texts are English in the row and every other language in `Translation` rows.
"""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from city311.catalog.models import Translated, Translation
from city311.lib.openinghours import HoursError, Season

WEEKDAY_CHOICES = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class FacilityKind(models.TextChoices):
    POOL = "pool", _("Pool")
    LIBRARY = "library", _("Library")
    PARK = "park", _("Park")
    RECREATION_CENTRE = "recreation_centre", _("Recreation centre")
    TRANSFER_STATION = "transfer_station", _("Transfer station")
    CITY_OFFICE = "city_office", _("City office")
    BEACH = "beach", _("Beach")


class HolidayRule(models.TextChoices):
    CLOSED = "closed", _("Closed on public holidays")
    USUAL = "usual", _("Usual hours on public holidays")
    HOURS = "hours", _("Special hours on public holidays")


def validate_season(value: str) -> None:
    if not value:
        return
    try:
        Season.parse(value)
    except HoursError as error:
        raise ValidationError(str(error)) from None


class Facility(Translated, models.Model):
    translatable = ("name", "description", "features")

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=160)
    kind = models.CharField(max_length=30, choices=FacilityKind.choices)
    description = models.TextField(_("description"), blank=True)
    features = models.TextField(
        _("features"), blank=True, help_text=_("One feature a line, e.g. Indoor pool.")
    )
    address = models.CharField(max_length=200)
    lat = models.FloatField(null=True, blank=True)
    long = models.FloatField(null=True, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    url = models.URLField(_("web address"), blank=True)
    holiday_rule = models.CharField(
        max_length=10, choices=HolidayRule.choices, default=HolidayRule.CLOSED
    )
    holiday_opens = models.TimeField(null=True, blank=True)
    holiday_closes = models.TimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    translations = GenericRelation(Translation, object_id_field="object_id")

    class Meta:
        verbose_name_plural = "facilities"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.holiday_rule == HolidayRule.HOURS and not (
            self.holiday_opens and self.holiday_closes
        ):
            raise ValidationError("Special holiday hours need an opening and a closing time.")
        if (self.lat is None) != (self.long is None):
            raise ValidationError("Give both latitude and longitude, or neither.")

    def feature_list(self, language: str | None = None) -> list[str]:
        text = self.translated("features", language)
        return [line.strip() for line in text.splitlines() if line.strip()]


class OpeningRule(models.Model):
    """Open `opens`-`closes` from weekday `first_day` to `last_day` (wrapping past Sunday),
    all year or in a season ("06-27..09-07"). Within its season, a seasonal rule replaces the
    all-year hours of the weekdays it names."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="rules")
    first_day = models.PositiveSmallIntegerField(choices=WEEKDAY_CHOICES)
    last_day = models.PositiveSmallIntegerField(choices=WEEKDAY_CHOICES)
    opens = models.TimeField()
    closes = models.TimeField(help_text="00:00 closes at midnight.")
    season = models.CharField(
        max_length=12,
        blank=True,
        validators=[validate_season],
        help_text="Blank for all year, or MM-DD..MM-DD, e.g. 06-27..09-07.",
    )

    class Meta:
        ordering = ["facility", "season", "first_day", "opens"]

    def __str__(self) -> str:
        return f"{self.facility}: {self.first_day}-{self.last_day} {self.opens}-{self.closes}"

    def clean(self) -> None:
        if self.closes == self.opens:
            raise ValidationError(
                "The closing time must differ from the opening time (00:00 closes at midnight; "
                "22:00-02:00 closes the next morning)."
            )

    @property
    def weekdays(self) -> frozenset[int]:
        span = (self.last_day - self.first_day) % 7
        return frozenset((self.first_day + n) % 7 for n in range(span + 1))


class HoursException(Translated, models.Model):
    """From `first_day` to `last_day` the facility is closed, or keeps other hours."""

    translatable = ("reason",)

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="exceptions")
    first_day = models.DateField()
    last_day = models.DateField()
    closed = models.BooleanField(default=True)
    opens = models.TimeField(null=True, blank=True)
    closes = models.TimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200)
    updated_at = models.DateTimeField(auto_now=True)
    translations = GenericRelation(Translation, object_id_field="object_id")

    class Meta:
        ordering = ["first_day", "pk"]
        indexes = [models.Index(fields=["last_day"], name="hoursexception_last_day")]

    def __str__(self) -> str:
        return f"{self.facility}: {self.first_day}..{self.last_day} {self.reason}"

    def clean(self) -> None:
        if self.last_day and self.first_day and self.last_day < self.first_day:
            raise ValidationError("The last day cannot come before the first day.")
        if not self.closed and not (self.opens and self.closes):
            raise ValidationError("Other hours need an opening and a closing time.")


class EventCategory(models.TextChoices):
    COMMUNITY = "community", _("Community")
    FAMILY = "family", _("Family and children")
    SPORTS = "sports", _("Sports and fitness")
    ARTS = "arts", _("Arts and culture")
    ENVIRONMENT = "environment", _("Environment and recycling")
    HEALTH = "health", _("Health")
    CIVIC = "civic", _("Civic meetings")


class Audience(models.TextChoices):
    EVERYONE = "everyone", _("Everyone")
    CHILDREN = "children", _("Children")
    TEENS = "teens", _("Teens")
    ADULTS = "adults", _("Adults")
    SENIORS = "seniors", _("Seniors")
    FAMILIES = "families", _("Families")


class Event(Translated, models.Model):
    """A city event, once or repeating (`recurrence` is an RFC 5545 RRULE, read with
    python-dateutil); `starts_at`/`ends_at` are the first occurrence."""

    translatable = ("title", "description")

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.CharField(max_length=20, choices=EventCategory.choices)
    facility = models.ForeignKey(
        Facility, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    place = models.CharField(max_length=200, blank=True, help_text="Where, when not a facility.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    recurrence = models.CharField(
        max_length=200, blank=True, help_text="An RRULE, e.g. FREQ=WEEKLY;BYDAY=SA"
    )
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.EVERYONE)
    language = models.CharField(
        max_length=16, default="en", help_text="The language the event is held in."
    )
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    translations = GenericRelation(Translation, object_id_field="object_id")

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        from city311.facilities.events import RecurrenceError, check_recurrence

        if self.ends_at and self.starts_at and self.ends_at <= self.starts_at:
            raise ValidationError("The event must end after it starts.")
        try:
            check_recurrence(self.recurrence)
        except RecurrenceError as error:
            raise ValidationError({"recurrence": str(error)}) from None

    @property
    def where(self) -> str:
        if self.facility is not None:
            return self.facility.translated("name")
        return self.place


class NoticeKind(models.TextChoices):
    SERVICE = "service", _("Service suspended or changed")
    COLLECTION = "collection", _("Garbage and recycling collection")
    PARKING = "parking", _("Parking rules")
    GENERAL = "general", _("General")


class Notice(Translated, models.Model):
    """A dated change residents should know about (the "City today" feed): alternate-side
    parking suspended, collection moved for a holiday, a service paused."""

    translatable = ("title", "body")

    key = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    first_day = models.DateField()
    last_day = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)
    translations = GenericRelation(Translation, object_id_field="object_id")

    class Meta:
        ordering = ["first_day", "key"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.last_day and self.first_day and self.last_day < self.first_day:
            raise ValidationError("The last day cannot come before the first day.")
