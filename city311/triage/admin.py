from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from city311.triage.models import EmergencyPrompt


@admin.register(EmergencyPrompt)
class EmergencyPromptAdmin(admin.ModelAdmin):
    """Read-only counts of "call 911 now" prompts: no text, no person."""

    list_display = ["day", "channel", "kind", "count"]
    list_filter = ["channel", "kind"]
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
