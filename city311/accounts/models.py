"""Staff: which departments a staff member works for. Roles are Django groups (roles.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    department = models.ForeignKey(
        "catalog.Department", on_delete=models.CASCADE, related_name="memberships"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "department"], name="one_membership_per_dept")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.department}"
