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


class SignInIdentity(models.Model):
    """A staff member's account at the city's identity provider (OpenID Connect): the
    provider's `sub` for them, which never changes, unlike names and e-mail addresses."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_identities"
    )
    issuer = models.CharField(max_length=200)
    subject = models.CharField(max_length=255)
    first_seen = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "sign-in identity"
        verbose_name_plural = "sign-in identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_identity")
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"
