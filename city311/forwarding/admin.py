"""The administrator's pages: forwarding rules with their health, and each forward."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from city311.forwarding.models import ForwardedRequest, Forwarding
from city311.lib import outbound, outbox
from city311.lib.admin import ViewOnlyAdmin


class ForwardingForm(outbound.AddressForm):
    address_field = "base_url"

    class Meta:
        model = Forwarding
        exclude: list[str] = []


@admin.register(Forwarding)
class ForwardingAdmin(admin.ModelAdmin):
    form = ForwardingForm
    list_display = [
        "name",
        "base_url",
        "service_type",
        "department",
        "active",
        "last_success_at",
        "last_error",
    ]
    list_filter = ["active"]
    fields = [
        "name",
        "base_url",
        "internal",
        "api_key",
        "jurisdiction_id",
        "service_type",
        "department",
        "remote_service_code",
        "active",
        "polled_upto",
        "last_success_at",
        "last_error",
    ]
    readonly_fields = ["polled_upto", "last_success_at", "last_error"]


@admin.register(ForwardedRequest)
class ForwardedRequestAdmin(ViewOnlyAdmin):
    list_display = [
        "request",
        "forwarding",
        "status",
        "remote_id",
        "remote_status",
        "attempts",
        "due_at",
        "sent_at",
        "error",
    ]
    list_filter = ["status", "forwarding", "remote_closed"]
    list_select_related = ["request", "forwarding"]
    search_fields = ["request__tracking_number", "remote_id"]
    actions = ["replay"]
    exclude = ["claim", "claimed_at", "claimed_by"]

    @admin.action(description=_("Post the selected requests again"))
    def replay(self, request: HttpRequest, queryset: QuerySet[ForwardedRequest]) -> None:
        # Only dead letters: one the other server took would be filed there twice.
        count = outbox.replay(queryset.filter(status=outbox.OutboxStatus.FAILED))
        messages.success(
            request,
            ngettext(
                "%(count)d request will be posted again.",
                "%(count)d requests will be posted again.",
                count,
            )
            % {"count": count},
        )
