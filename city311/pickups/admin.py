from __future__ import annotations

from django.contrib import admin

from city311.catalog.admin import TranslatedAdmin
from city311.pickups.models import Collection, HolidayRule, Route, RouteSchedule, ScheduleException


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
