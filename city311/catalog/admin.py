from django.contrib import admin

from city311.catalog.models import (
    AttributeValue,
    BusinessHours,
    Department,
    Holiday,
    ServiceAttribute,
    ServiceType,
)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "hours", "active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


class AttributeInline(admin.TabularInline):
    model = ServiceAttribute
    extra = 0
    fields = ["order", "code", "description", "description_es", "datatype", "required", "variable"]
    show_change_link = True


@admin.register(ServiceType)
class ServiceTypeAdmin(admin.ModelAdmin):
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
        (None, {"fields": ["service_code", "service_name", "description", "group", "keywords"]}),
        (
            "Spanish",
            {
                "fields": ["service_name_es", "description_es", "group_es", "referral_es"],
                "description": "What Spanish-speaking residents read. Empty shows the English.",
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


class ValueInline(admin.TabularInline):
    model = AttributeValue
    extra = 1


@admin.register(ServiceAttribute)
class ServiceAttributeAdmin(admin.ModelAdmin):
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
