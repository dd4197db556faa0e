from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from city311.catalog.admin import TranslatedAdmin
from city311.pickups import actions
from city311.pickups.models import (
    Booking,
    BookingRule,
    BulkyItem,
    Collection,
    HolidayRule,
    Route,
    RouteDay,
    RouteDayItem,
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

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Booked pickups follow a changed rule, and their residents are told (as on the
        # staff page /pickups/staff/changes).
        actions.follow_admin_change(form.instance, by=request.user)


@admin.register(HolidayRule)
class HolidayRuleAdmin(admin.ModelAdmin):
    list_display = ["slide", "window_start", "window_end", "window_days"]


@admin.register(ScheduleException)
class ScheduleExceptionAdmin(TranslatedAdmin):
    list_display = ["day", "action", "moved_to", "route", "collection", "reason"]
    list_filter = ["action", "collection"]
    date_hierarchy = "day"

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        assert isinstance(obj, ScheduleException)
        actions.follow_admin_change(obj.route, by=request.user)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        assert isinstance(obj, ScheduleException)
        route = obj.route
        super().delete_model(request, obj)
        actions.follow_admin_change(route, by=request.user)


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
    list_display = ["name", "code", "max_per_booking", "daily_capacity", "fee", "accepted", "order"]


@admin.register(RouteDayItem)
class RouteDayItemAdmin(admin.ModelAdmin):
    list_display = ["day", "route", "item", "capacity", "booked"]
    list_filter = ["route", "item"]
    date_hierarchy = "day"
    readonly_fields = ["booked"]


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
    list_display = ["request", "day", "route", "status", "fee", "payment"]
    list_filter = ["status", "payment", "route"]
    date_hierarchy = "day"
    readonly_fields = ["request", "address"]
    exclude = ["token"]
