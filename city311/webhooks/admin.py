"""The city administrator's pages: endpoints with their health, and every post with replay."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from city311.lib import outbound
from city311.lib.admin import ViewOnlyAdmin
from city311.lib.outbox import OutboxStatus
from city311.webhooks import tasks
from city311.webhooks.models import KINDS, WebhookEndpoint, WebhookPost


class EndpointForm(outbound.AddressForm):
    kinds = forms.MultipleChoiceField(
        label=_("kinds"),
        choices=KINDS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every kind offered here."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "internal", "secret", "kinds", "service_types", "active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = [
        "name",
        "url",
        "internal",
        "active",
        "last_success_at",
        "last_failure_at",
        "failures_in_a_row",
        "waiting",
        "dead_letters",
    ]
    list_filter = ["active"]
    filter_horizontal = ["service_types"]
    readonly_fields = ["last_success_at", "last_failure_at", "last_error", "failures_in_a_row"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEndpoint]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                waiting_count=Count("posts", filter=Q(posts__status=OutboxStatus.PENDING)),
                dead_count=Count("posts", filter=Q(posts__status=OutboxStatus.FAILED)),
            )
        )

    @admin.display(description=_("Waiting"))
    def waiting(self, obj: Any) -> int:
        return int(obj.waiting_count)

    @admin.display(description=_("Dead letters"))
    def dead_letters(self, obj: Any) -> int:
        return int(obj.dead_count)


@admin.register(WebhookPost)
class WebhookPostAdmin(ViewOnlyAdmin):
    """Viewable, never edited: the body is what was signed."""

    list_display = [
        "webhook_id",
        "endpoint",
        "kind",
        "tracking_number",
        "status",
        "attempts",
        "created_at",
        "due_at",
        "sent_at",
        "detail",
        "error",
    ]
    list_filter = ["status", "endpoint", "kind"]
    list_select_related = ["endpoint", "request"]
    search_fields = ["request__tracking_number"]
    actions = ["replay", "drop"]
    readonly_fields = [
        "endpoint",
        "event",
        "request",
        "kind",
        "body",
        "status",
        "attempts",
        "created_at",
        "due_at",
        "sent_at",
        "detail",
        "error",
    ]
    exclude = ["claim", "claimed_at", "claimed_by"]

    @admin.display(description=_("Request"))
    def tracking_number(self, obj: WebhookPost) -> str:
        return obj.request.tracking_number

    @admin.action(description=_("Send the selected posts again"))
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookPost]) -> None:
        count = tasks.replay(queryset)
        messages.success(
            request,
            ngettext(
                "%(count)d post will be sent again, after the earlier posts of its request.",
                "%(count)d posts will be sent again, each after the earlier posts of its request.",
                count,
            )
            % {"count": count},
        )

    @admin.action(
        description=_("Drop the selected dead letters (their requests' later posts go on)")
    )
    def drop(self, request: HttpRequest, queryset: QuerySet[WebhookPost]) -> None:
        count = tasks.drop(queryset)
        messages.success(
            request,
            ngettext(
                "%(count)d dead letter dropped: it will not be sent.",
                "%(count)d dead letters dropped: they will not be sent.",
                count,
            )
            % {"count": count},
        )
