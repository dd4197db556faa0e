from django.contrib import admin

from city311.geo.models import Boundary


@admin.register(Boundary)
class BoundaryAdmin(admin.ModelAdmin):
    list_display = ["kind", "code", "name", "source", "imported_at"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    exclude = ["geometry"]
    readonly_fields = ["min_long", "min_lat", "max_long", "max_lat", "imported_at"]
