from __future__ import annotations

from django.db import models


class EmergencyPrompt(models.Model):
    """How often "call 911 now" was shown, per day, channel and kind of emergency.

    Counts only: never the words, the person, the place or the request. Reports (and the
    admin) read these to see how often residents bring emergencies to 311, and where.
    """

    day = models.DateField()
    channel = models.CharField(max_length=20)
    kind = models.CharField(max_length=20)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "channel", "kind"], name="one_count_a_day")
        ]
        ordering = ["-day", "channel", "kind"]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.kind}: {self.count}"
