from django.contrib import admin

from city311.geo.models import AddressPoint, Boundary, GeoDataset, Place
from city311.lib.admin import ViewOnlyAdmin


@admin.register(Boundary)
class BoundaryAdmin(admin.ModelAdmin):
    list_display = ["kind", "code", "name", "source", "imported_at"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    exclude = ["geometry"]
    readonly_fields = ["min_long", "min_lat", "max_long", "max_lat", "imported_at"]


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "lat", "long", "source"]
    list_filter = ["kind"]
    search_fields = ["name", "aliases"]
    exclude = ["geometry"]


@admin.register(AddressPoint)
class AddressPointAdmin(ViewOnlyAdmin):
    """Addresses come from the city's file (city311 import_addresses); here they are read-only."""

    list_display = ["number", "street", "city", "postcode", "lat", "long", "source_id"]
    search_fields = ["street_key", "source_id", "number"]
    show_full_result_count = False


@admin.register(GeoDataset)
class GeoDatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "rows", "source", "imported_at"]
    readonly_fields = ["name", "version", "rows", "source", "imported_at"]
