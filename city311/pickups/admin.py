from __future__ import annotations

from django.contrib import admin

from city311.catalog.admin import TranslatedAdmin
from city311.pickups.models import (
    Booking,
    BookingRule,
    BulkyItem,
    Collection,
    HolidayRule,
    Route,
    RouteDay,
    RouteSchedule,
    ScheduleException,
)


@admin.register(Collection)
class CollectionAdmin(TranslatedAdmin):
    list_display = ["name", "code", "order"]


class RouteScheduleInline(admin.TabularInline):
    model = RouteSchedule
    extra = 1


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    """A collection route: one of the city's areas and its schedules (RRULEs). After changing
    an area or adding a route, run `city311 remap_pickups` so each address finds its route."""

    list_display = ["code", "name", "area_kind", "area_code"]
    search_fields = ["code", "name", "area_code"]
    inlines = [RouteScheduleInline]


@admin.register(HolidayRule)
class HolidayRuleAdmin(admin.ModelAdmin):
    list_display = ["slide", "window_start", "window_end", "window_days"]


@admin.register(ScheduleException)
class ScheduleExceptionAdmin(TranslatedAdmin):
    list_display = ["day", "action", "moved_to", "route", "collection", "reason"]
    list_filter = ["action", "collection"]
    date_hierarchy = "day"


@admin.register(BookingRule)
class BookingRuleAdmin(admin.ModelAdmin):
    """How bulky pickups are booked: one row (without it the defaults apply)."""

    list_display = [
        "collection_code",
        "service_code",
        "window_days",
        "cutoff_time",
        "daily_capacity",
    ]


@admin.register(BulkyItem)
class BulkyItemAdmin(TranslatedAdmin):
    list_display = ["name", "code", "max_per_booking", "accepted", "order"]


@admin.register(RouteDay)
class RouteDayAdmin(admin.ModelAdmin):
    list_display = ["day", "route", "capacity", "booked", "late_note"]
    list_filter = ["route"]
    date_hierarchy = "day"
    # The counter is the bookings' own: changed only by booking and cancelling.
    readonly_fields = ["booked"]


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    # No contact here: the resident's details stay on the request, shown to staff with a reason.
    list_display = ["request", "day", "route", "status"]
    list_filter = ["status", "route"]
    date_hierarchy = "day"
    readonly_fields = ["request", "address"]
    exclude = ["token"]
