"""Two-factor sign-in for staff, on django-otp: an authenticator app (TOTP) and recovery codes.

A staff member who has set up an authenticator signs in with their password and then a code;
until the code is given the session is signed in but not verified, and `TwoFactorMiddleware`
lets it reach only the two-factor pages and sign-out. With CITY311_STAFF_2FA_REQUIRED every
staff member without an authenticator is sent to set one up first. A sign-in through the city's
identity provider (accounts/oidc.py) is verified there and needs no second code here.
"""

from __future__ import annotations

import io
import math
from base64 import b32encode
from typing import Any

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from city311.accounts.roles import is_staff_member

RECOVERY_CODES = 10
# Set on a session signed in through the identity provider, which checked the second factor.
SSO_SESSION_KEY = "city311_signed_in_by_sso"


def step_due(request: HttpRequest) -> str | None:
    """What the signed-in user must do before anything else: "verify" a code, "enrol" an
    authenticator (when the city requires one), or nothing (None)."""
    user: Any = request.user
    if not user.is_authenticated or request.session.get(SSO_SESSION_KEY):
        return None
    if user.is_verified():
        return None
    if user_has_device(user):
        return "verify"
    if settings.CITY311_STAFF_2FA_REQUIRED and (user.is_staff or is_staff_member(user)):
        return "enrol"
    return None


def pending_authenticator(user: Any) -> TOTPDevice:
    """The authenticator being set up: kept until confirmed with a code, so reloading the page
    shows the same QR code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def secret_for_typing(device: TOTPDevice) -> str:
    """The key as people type it into an app without a camera: base32 in groups of four."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// address as an inline SVG QR code, drawn here (no outside service)."""
    out = io.BytesIO()
    segno.make(device.config_url, error="m").save(
        out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, title="QR code"
    )
    return out.getvalue().decode()


@transaction.atomic
def confirm_authenticator(request: HttpRequest, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the pending authenticator with a code from it. On success it replaces any earlier
    one, the session counts as verified, and fresh recovery codes are returned (shown once)."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if not device.verify_token(_digits(code)):
        return None
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    return new_recovery_codes(device.user)


@transaction.atomic
def new_recovery_codes(user: Any) -> list[str]:
    """Replace the user's recovery codes with new ones; each works once."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def recovery_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def verify_code(request: HttpRequest, code: str) -> Device | None:
    """Check a code from the authenticator or a recovery code; on success the session counts
    as verified. Each device slows down repeated wrong codes (django-otp's throttling)."""
    user: Any = request.user
    token = code.strip().replace(" ", "").replace("-", "")
    # Six digits are the app's code, anything else a recovery code: each is checked by its
    # own device only, so a good recovery code is not also a wrong app code (which would make
    # the next sign-in wait).
    from_app = len(token) == 6 and token.isascii() and token.isdigit()
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            if isinstance(device, TOTPDevice) != from_app:
                continue
            candidate = _digits(token) if from_app else token.lower()
            if device.verify_token(candidate):
                otp_login(request, device)
                return device
    return None


def wait_seconds(user: Any) -> int:
    """How long before another code is checked, after too many wrong ones (0: now)."""
    longest = 0
    for device in devices_for_user(user):
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("locked_until"):
            left = (data["locked_until"] - timezone.now()).total_seconds()
            longest = max(longest, math.ceil(left))
    return longest


@transaction.atomic
def remove_second_factor(user: Any) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def _digits(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace())
