"""The city's geography: the areas it is divided into (city limits, districts, zones)."""

from __future__ import annotations

from django.db import models


class BoundaryKind(models.TextChoices):
    CITY_LIMITS = "city_limits", "City limits"
    BOROUGH = "borough", "Borough"
    COUNCIL_DISTRICT = "council_district", "Council district"
    COMMUNITY_DISTRICT = "community_district", "Community district"
    NEIGHBORHOOD = "neighborhood", "Neighborhood"
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


class AddressPoint(models.Model):
    """One address from the city's address file (OpenAddresses columns)."""

    source_id = models.CharField(max_length=60, blank=True, help_text="The file's ID column.")
    number = models.CharField(max_length=20, help_text="House number as written: 12, 12A, 100-26.")
    street = models.CharField(max_length=120, help_text="Street as written in the file.")
    # The normalised street ("WEST 24 STREET"): what the geocoder matches on.
    street_key = models.CharField(max_length=120)
    unit = models.CharField(max_length=30, blank=True)
    city = models.CharField(max_length=60, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    lat = models.FloatField()
    long = models.FloatField()
    # The GeoDataset("addresses") version this row belongs to. An import writes the next version
    # beside the current one and then flips the dataset's version, so readers never see a mix.
    version = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["version", "street_key", "number"], name="address_street_number"),
            models.Index(fields=["source_id"], name="address_source_id"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.street}, {self.city} {self.postcode}".strip()


class PlaceKind(models.TextChoices):
    PARK = "park", "Park"
    FACILITY = "facility", "Facility"
    LANDMARK = "landmark", "Landmark"


class Place(models.Model):
    """A named place people give as a location: "Chandler Park", "the Central Library"."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=PlaceKind.choices, default=PlaceKind.LANDMARK)
    aliases = models.CharField(
        max_length=500, blank=True, help_text="Other names, comma-separated."
    )
    lat = models.FloatField(help_text="A representative point inside the place.")
    long = models.FloatField()
    geometry = models.JSONField(null=True, blank=True, help_text="GeoJSON polygon, if any.")
    address = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Intersection(models.Model):
    """A known corner of two streets, from the city's intersection file."""

    street1 = models.CharField(max_length=120)
    street2 = models.CharField(max_length=120)
    # The two normalised streets in alphabetical order: the pair the geocoder looks up.
    key1 = models.CharField(max_length=120)
    key2 = models.CharField(max_length=120)
    city = models.CharField(max_length=60, blank=True)
    lat = models.FloatField()
    long = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["key1", "key2"], name="intersection_pair")]

    def __str__(self) -> str:
        return f"{self.street1} & {self.street2}"


class GeoDataset(models.Model):
    """What was last imported of each kind of geography; its version tells every process's
    in-memory index when to rebuild."""

    name = models.CharField(max_length=40, unique=True)  # "addresses", "places", "boundaries"
    version = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=300, blank=True)
    rows = models.PositiveIntegerField(default=0)
    imported_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
