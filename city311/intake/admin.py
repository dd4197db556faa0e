from django.contrib import admin

from city311.intake.models import InboundMail


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    # No sender or text: personal data stays on the call takers' page.
    list_display = ["pk", "status", "reason", "spam_score", "request", "received_at"]
    list_filter = ["status"]
    fields = ["status", "reason", "spam_score", "request", "received_at", "published"]
    readonly_fields = ["status", "reason", "spam_score", "request", "received_at", "published"]

    def has_add_permission(self, request: object) -> bool:
        return False
