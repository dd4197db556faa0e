"""The editors' screens: facilities with their weekly rules and dated exceptions, events,
notices — every resident-facing text in each configured language."""

from __future__ import annotations

from django.contrib import admin

from city311.catalog.admin import TranslatedAdmin, TranslatedInline
from city311.facilities.models import Event, Facility, HoursException, Notice, OpeningRule


class OpeningRuleInline(admin.TabularInline):
    model = OpeningRule
    extra = 0


class HoursExceptionInline(TranslatedInline):
    model = HoursException
    extra = 0
    translated_fields = ("reason",)
    fields = ["first_day", "last_day", "closed", "opens", "closes", "reason"]


@admin.register(Facility)
class FacilityAdmin(TranslatedAdmin):
    list_display = ["name", "kind", "address", "phone", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "address"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OpeningRuleInline, HoursExceptionInline]


@admin.register(Event)
class EventAdmin(TranslatedAdmin):
    list_display = ["title", "category", "starts_at", "recurrence", "facility", "active"]
    list_filter = ["category", "audience", "active"]
    search_fields = ["title"]
    prepopulated_fields = {"slug": ["title"]}
    autocomplete_fields = ["facility"]


@admin.register(Notice)
class NoticeAdmin(TranslatedAdmin):
    list_display = ["title", "kind", "first_day", "last_day"]
    list_filter = ["kind"]
    search_fields = ["title"]
