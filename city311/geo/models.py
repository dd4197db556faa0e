"""The city's geography: the areas it is divided into (city limits, districts, zones)."""

from __future__ import annotations

from django.db import models


class BoundaryKind(models.TextChoices):
    CITY_LIMITS = "city_limits", "City limits"
    BOROUGH = "borough", "Borough"
    COUNCIL_DISTRICT = "council_district", "Council district"
    COMMUNITY_DISTRICT = "community_district", "Community district"
    ZIP = "zip", "ZIP code area"
    SERVICE_ZONE = "service_zone", "Service zone"
    PICKUP_ROUTE = "pickup_route", "Pickup route"


class Boundary(models.Model):
    """One named area as a GeoJSON (multi)polygon in EPSG:4326."""

    kind = models.CharField(max_length=30, choices=BoundaryKind.choices)
    code = models.CharField(max_length=60, help_text="Stable identifier, e.g. 101 or 10001.")
    name = models.CharField(max_length=200)
    geometry = models.JSONField()
    properties = models.JSONField(default=dict, blank=True)
    # The bounding box, so a lookup can skip most areas without parsing their geometry.
    min_long = models.FloatField()
    min_lat = models.FloatField()
    max_long = models.FloatField()
    max_lat = models.FloatField()
    source = models.CharField(max_length=200, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name_plural = "boundaries"
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="boundary_code_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"
