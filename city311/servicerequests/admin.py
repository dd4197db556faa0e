from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from city311.servicerequests.models import (
    EscalationLevel,
    RequestEvent,
    ResponseTemplate,
    RoutingRule,
    ServiceRequest,
)


class EventInline(admin.TabularInline):
    model = RequestEvent
    extra = 0
    fields = ("at", "kind", "actor", "actor_label", "public", "note")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(admin.ModelAdmin):
    """Read-only here: requests change through the work pages, which keep their history."""

    list_display = [
        "tracking_number",
        "service_type",
        "status",
        "department",
        "channel",
        "requested_at",
        "due_at",
    ]
    list_filter = ["status", "channel", "urgent", "department"]
    search_fields = ["tracking_number", "external_id"]
    date_hierarchy = "requested_at"
    list_select_related = ["service_type", "department"]
    # Contact details are personal data: not shown in the admin at all.
    exclude = ["answers"]
    inlines = [EventInline]
    show_full_result_count = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """Which department gets a type (or group) in an area; the request's history names the rule."""

    list_display = ["pk", "service_type", "group", "area", "department", "priority", "active"]
    list_filter = ["department", "active", "area__kind"]
    autocomplete_fields = ["area", "service_type"]


@admin.register(EscalationLevel)
class EscalationLevelAdmin(admin.ModelAdmin):
    """Who is told when a request reaches a share of its target time (docs/sla.md)."""

    list_display = ["service_type", "percent", "notify"]
    list_filter = ["notify", "service_type"]
    autocomplete_fields = ["service_type"]


class ResponseTemplateForm(forms.ModelForm):
    # The languages the city offers, from the setting: adding one needs no migration.
    language = forms.TypedChoiceField(
        label=_("Language"), choices=lambda: settings.LANGUAGES, initial="en"
    )

    class Meta:
        model = ResponseTemplate
        fields = ["title", "service_type", "status", "paused", "language", "text", "active"]


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(admin.ModelAdmin):
    """Ready wordings of public updates, per type, state and language, for the work page."""

    form = ResponseTemplateForm
    list_display = ["title", "language", "service_type", "status", "paused", "active"]
    list_filter = ["language", "status", "paused", "active"]
    search_fields = ["title", "text"]
    autocomplete_fields = ["service_type"]
