from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from city311.open311.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["application", "prefix", "active", "rate_limit_per_minute", "created"]
    list_filter = ["active"]
    search_fields = ["application", "prefix"]
    fields = [
        "application",
        "rate_limit_per_minute",
        "status_words",
        "notifies_own_users",
        "active",
        "prefix",
        "created",
    ]
    readonly_fields = ["prefix", "created"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ModelForm, change: bool) -> None:
        raw = "" if change else obj.set_new_key()
        super().save_model(request, obj, form, change)
        if raw:
            messages.warning(
                request,
                f"The new key for {obj.application} is {raw} — copy it now: it is not kept.",
            )

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(active=True).update(active=False)
        messages.success(request, f"Revoked {count} key(s).")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Revoke instead: a deleted key leaves no trace of which application held it.
        return False
