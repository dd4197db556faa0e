"""Staff: which departments a staff member works for. Roles are Django groups (roles.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


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


# An extension ("1001"), or the phone system's own id for the agent: a Twilio worker SID
# ("WK…"), a Genesys user id (a UUID), an Amazon Connect agent ARN, an Asterisk "PJSIP/1001".
EXTENSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/+\-]*$"


class StaffProfile(models.Model):
    """What the city knows of a staff member beyond the sign-in: how the phone system names
    them. The call-events webhook (city311.contacts.webhook) finds the call taker by it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    # Unique when set: one call goes to one person (constraint below).
    extension = models.CharField(
        _("phone extension or agent id"),
        max_length=200,
        blank=True,
        validators=[
            RegexValidator(
                EXTENSION_PATTERN,
                _(
                    "Use the extension or agent id exactly as the phone system sends it: "
                    "letters, digits and . _ : @ / + - with no spaces."
                ),
            )
        ],
        help_text=_(
            "How the phone system names this person in its call events: their extension "
            "(1001) or the system's agent id (a Twilio worker SID, a Genesys user id, an "
            "Amazon Connect agent ARN). The caller's card pops in their console when they "
            "answer."
        ),
    )

    class Meta:
        verbose_name = _("phone system")
        verbose_name_plural = _("phone system")
        constraints = [
            # Whatever the case: phone systems disagree on it ("PJSIP/1001", "pjsip/1001",
            # a Twilio SID upper-cased by a middleman), and two people must never share one.
            # The webhook reads it the same way (contacts.webhook._staff), through this index.
            models.UniqueConstraint(
                Lower("extension"),
                condition=~models.Q(extension=""),
                name="one_staff_per_extension",
                violation_error_message=_(
                    "Another staff member already has this extension or agent id."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} at extension {self.extension or '—'}"
