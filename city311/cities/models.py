"""The city itself: its name, clock, phones, look and the words its geocoder knows.

One row (`City`, pk 1), loaded from the city pack's manifest (`docs/city-pack.md`) and edited
in the admin. Code reads it through `city311.cities.profile`, never directly.
"""

from __future__ import annotations

import zoneinfo

from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.db import models

from city311.catalog.models import Translated, Translation
from city311.cities.palette import PALETTE


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"{value!r} is not a time zone: use an IANA name such as America/Chicago."
        ) from None


def validate_color(value: str) -> None:
    if value and value not in PALETTE:
        raise ValidationError(
            f"{value!r} is not a USWDS colour token of grade 50 or darker (e.g. blue-60v, "
            "green-cool-50v): lighter colours are too faint for white text."
        )


def validate_grouping(value: str) -> None:
    parts = value.split("-")
    ok = all(p.isdigit() and int(p) > 0 for p in parts) and sum(map(int, parts)) == 10
    if not ok or len(parts) > 3:
        raise ValidationError("Give at most 3 group sizes adding up to 10, with dashes: 3-4-3.")


class City(Translated, models.Model):
    translatable = ("hours", "outside_referral")

    name = models.CharField(max_length=120)
    time_zone = models.CharField(max_length=60, validators=[validate_time_zone])
    languages = models.CharField(
        max_length=100, default="en", help_text="Languages the city's texts are written in."
    )
    holidays = models.CharField(
        max_length=20, blank=True, help_text="Public holidays: COUNTRY or COUNTRY-SUBDIVISION."
    )
    map_lat = models.FloatField("map centre latitude")
    map_long = models.FloatField("map centre longitude")
    map_zoom = models.PositiveSmallIntegerField(default=11)
    tracking_grouping = models.CharField(
        max_length=20, default="3-4-3", validators=[validate_grouping]
    )
    phone = models.CharField(max_length=40, default="311")
    outside_phone = models.CharField(max_length=40, blank=True)
    emergency_phone = models.CharField(max_length=40, default="911")
    emergency_transfer = models.CharField(
        max_length=40,
        blank=True,
        help_text="The line call takers transfer an emergency caller to, when it is not the "
        "emergency number itself.",
    )
    crisis_phone = models.CharField(
        max_length=40,
        blank=True,
        help_text="The crisis line given beside the emergency number when someone may harm "
        "themselves (988 in the United States).",
    )
    unplaced_addresses = models.CharField(
        max_length=10,
        blank=True,
        choices=[
            ("refuse", "Refuse: ask the sender which address they meant"),
            ("verify", "Accept, marked “location to verify” for staff"),
        ],
        default="refuse",
        help_text="What Open311 does with an address the city's address file cannot place "
        "within about 50 m (blank: refuse).",
    )
    hours = models.CharField(max_length=200, blank=True, help_text="When the call centre answers.")
    call_centre_hours = models.CharField(
        max_length=200,
        default="24/7",
        help_text="When a person answers, for the opening-hours engine: 24/7, or days and "
        "times such as Mo-Fr 07:00-18:00; Sa 09:00-13:00 (closed on public holidays).",
    )
    brand_name = models.CharField(max_length=120, blank=True)
    logo = models.BinaryField(blank=True, default=b"")
    logo_name = models.CharField(max_length=100, blank=True)
    color_primary = models.CharField(max_length=30, blank=True, validators=[validate_color])
    color_secondary = models.CharField(max_length=30, blank=True, validators=[validate_color])
    states = models.CharField(
        max_length=100, blank=True, help_text="State codes an address may end with: NY, IL."
    )
    state_names = models.CharField(
        max_length=200, blank=True, help_text="The same states written out, comma-separated."
    )
    outside_names = models.TextField(
        blank=True,
        help_text="Places outside the city people write in addresses, one a line: a neighbouring "
        "town, another state. An address naming one is outside the city.",
    )
    outside_referral = models.TextField(
        blank=True, help_text="What a resident is told about a place outside the city."
    )
    history_module = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    translations = GenericRelation(Translation)

    class Meta:
        verbose_name_plural = "city"

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        # The one row: whatever is saved is the city.
        self.pk = 1
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class CityAlias(models.Model):
    """Another name for the city or one of its parts ("BKLYN" for Brooklyn) in an address."""

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=60)
    part = models.CharField(
        max_length=60, help_text="The CITY value of the address file it means, e.g. Brooklyn."
    )
    soft = models.BooleanField(
        default=False,
        help_text="Only a hint: also a state's name, so a street elsewhere in the city still "
        "matches.",
    )

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "city aliases"
        constraints = [models.UniqueConstraint(fields=["city", "alias"], name="one_alias")]

    def __str__(self) -> str:
        return f"{self.alias} → {self.part}"
