from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from city311.catalog.actions import other_languages
from city311.catalog.admin import TranslatedAdmin
from city311.catalog.forms import translation_field
from city311.cities.models import City, CityAlias
from city311.triage.coverage import triage_coverage


class CityAliasInline(admin.TabularInline):
    model = CityAlias
    extra = 1


@admin.register(City)
class CityAdmin(TranslatedAdmin):
    """The city's own settings, as its pack set them: name, clock, phones, look, geocoder."""

    inlines = [CityAliasInline]
    exclude = ["logo", "history_module"]
    readonly_fields = ["logo_name", "updated_at", "emergency_triage"]
    fieldsets = [
        (None, {"fields": ["name", "time_zone", "languages", "holidays"]}),
        (
            "Phones and hours",
            {
                "fields": [
                    "phone",
                    "outside_phone",
                    "emergency_phone",
                    "emergency_transfer",
                    "crisis_phone",
                    "hours",
                ]
            },
        ),
        ("Emergency triage", {"fields": ["emergency_triage"]}),
        ("Map", {"fields": ["map_lat", "map_long", "map_zoom"]}),
        (
            "Look",
            {
                "fields": [
                    "brand_name",
                    "logo_name",
                    "color_primary",
                    "color_secondary",
                    "tracking_grouping",
                ]
            },
        ),
        (
            "Addresses (the geocoder's rules)",
            {
                "fields": [
                    "states",
                    "state_names",
                    "outside_names",
                    "outside_referral",
                    "unplaced_addresses",
                ]
            },
        ),
        (None, {"fields": ["updated_at"]}),
    ]

    @admin.display(description="Emergency word lists")
    def emergency_triage(self, obj: City) -> str:
        """Which languages' emergency words read residents' texts: a language without its own
        list is read with the English and Spanish ones, and the admin says so."""
        return triage_coverage(obj.languages.split(","))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        # Each text residents read, in every offered language beside the English.
        fieldsets = []
        for name, options in self.fieldsets:
            fields: list[str] = []
            for f in options["fields"]:
                fields.append(str(f))
                if f in City.translatable:
                    fields += [translation_field(str(f), code) for code, _ in other_languages()]
            fieldsets.append((name, {**options, "fields": fields}))
        return fieldsets

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One city: it comes from its pack (city311 import_city), then is edited here.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
