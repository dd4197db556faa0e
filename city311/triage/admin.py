from __future__ import annotations

from django.contrib import admin

from city311.lib.admin import ViewOnlyAdmin
from city311.triage.models import EmergencyPrompt


@admin.register(EmergencyPrompt)
class EmergencyPromptAdmin(ViewOnlyAdmin):
    """Read-only counts of "call 911 now" prompts: no text, no person."""

    list_display = ["day", "channel", "kind", "count"]
    list_filter = ["channel", "kind"]
    date_hierarchy = "day"
