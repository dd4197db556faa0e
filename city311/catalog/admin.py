from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest

from city311.catalog.actions import other_languages
from city311.catalog.forms import translation_field, translations_form
from city311.catalog.models import (
    AttributeValue,
    BusinessHours,
    Department,
    Holiday,
    ServiceAttribute,
    ServiceType,
)


class TranslatedAdmin(admin.ModelAdmin):
    """Edits the row's text in every configured language beside the English."""

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        base = kwargs.pop("form", self.form)
        kwargs["form"] = translations_form(self.model, self.model.translatable, base)
        return super().get_form(request, obj, change, **kwargs)


class TranslatedInline(admin.TabularInline):
    """An inline whose rows' `translated_fields` are edited in every configured language."""

    translated_fields: tuple[str, ...] = ()

    def get_formset(self, request: HttpRequest, obj: Model | None = None, **kwargs: Any) -> Any:
        kwargs["form"] = translations_form(self.model, self.translated_fields, self.form)
        return super().get_formset(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fields: list[Any] = list(super().get_fields(request, obj))
        for field in self.translated_fields:
            at = fields.index(field) + 1
            names = [translation_field(field, language) for language, _ in other_languages()]
            fields[at:at] = names
        return fields


@admin.register(Department)
class DepartmentAdmin(TranslatedAdmin):
    list_display = ["name", "email", "phone", "hours", "active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


class AttributeInline(TranslatedInline):
    model = ServiceAttribute
    extra = 0
    fields = ["order", "code", "description", "datatype", "required", "variable"]
    translated_fields = ("description",)
    show_change_link = True


@admin.register(ServiceType)
class ServiceTypeAdmin(TranslatedAdmin):
    list_display = [
        "service_name",
        "service_code",
        "group",
        "department",
        "urgency",
        "sla_amount",
        "sla_unit",
        "active",
    ]
    list_filter = ["group", "department", "urgency", "active"]
    search_fields = ["service_name", "service_code", "keywords", "description"]
    inlines = [AttributeInline]
    filter_horizontal = ["related_types"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "service_code",
                    "service_name",
                    "description",
                    "group",
                    "keywords",
                    "examples",
                ]
            },
        ),
        (
            "Handling",
            {
                "fields": [
                    "department",
                    "urgency",
                    "sla_amount",
                    "sla_unit",
                    "referral",
                    "active",
                    "display_order",
                ]
            },
        ),
        ("What the resident must give", {"fields": ["location_required", "contact_required"]}),
        ("What the public sees", {"fields": ["publish_description"]}),
        (
            "Duplicates",
            {
                "fields": [
                    "duplicate_radius_m",
                    "duplicate_window_days",
                    "related_types",
                ]
            },
        ),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """One section per language after the English, in the order residents read them."""
        fieldsets: list[Any] = list(super().get_fieldsets(request, obj))
        for language, name in reversed(other_languages()):
            fields = [translation_field(f, language) for f in ServiceType.translatable]
            section = {
                "fields": fields,
                "description": f"What residents reading {name} see. Empty shows the English.",
            }
            fieldsets.insert(1, (name, section))
        return fieldsets


class ValueInline(TranslatedInline):
    model = AttributeValue
    extra = 1
    fields = ["key", "name", "order"]
    translated_fields = ("name",)


@admin.register(ServiceAttribute)
class ServiceAttributeAdmin(TranslatedAdmin):
    list_display = ["service_type", "order", "code", "description", "datatype", "required"]
    list_filter = ["datatype", "service_type__group"]
    search_fields = ["code", "description", "service_type__service_name"]
    inlines = [ValueInline]


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ["weekday", "opens", "closes"]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "closed"]
    date_hierarchy = "date"
