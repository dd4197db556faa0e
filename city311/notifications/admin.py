from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from city311.lib.admin import ViewOnlyAdmin
from city311.notifications.messages import forget_overrides
from city311.notifications.models import (
    Delivery,
    Digest,
    DigestSubscription,
    MessageTemplate,
    SurveyResponse,
)


class MessageTemplateForm(forms.ModelForm):
    # The languages the city offers, from the setting: adding one needs no migration.
    language = forms.TypedChoiceField(
        label=_("Language"), choices=lambda: settings.LANGUAGES, initial="en"
    )

    class Meta:
        model = MessageTemplate
        fields = ["kind", "language", "service_type", "subject", "text", "html", "sms"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ["kind", "language", "service_type"]
    list_filter = ["kind", "language"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        forget_overrides()  # this process shows the new wording at once; workers within 30 s


@admin.register(Delivery)
class DeliveryAdmin(ViewOnlyAdmin):
    """Read-only: what was sent and how it went. Addresses are not shown."""

    list_display = ["pk", "request", "kind", "channel", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "kind"]
    fields = (
        "request",
        "kind",
        "channel",
        "status",
        "attempts",
        "due_at",
        "sent_at",
        "detail",
        "error",
    )
    readonly_fields = fields


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ["request", "fixed", "satisfaction", "answered_at", "reopened"]
    list_filter = ["fixed", "satisfaction"]
    fields = ("request", "fixed", "satisfaction", "comment", "answered_at", "reopened")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(DigestSubscription)
class DigestSubscriptionAdmin(admin.ModelAdmin):
    """Who gets a daily or weekly digest of their open and overdue work (docs/sla.md)."""

    list_display = ["__str__", "user", "department", "frequency", "active"]
    list_filter = ["frequency", "active", "department"]
    autocomplete_fields = ["user"]


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ["subscription", "period", "status", "sent_at", "attempts"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Digest._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
