"""Staff a city pack brought in: a link to set their first password, never a password."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from city311.cities import profile


def set_password_link(user: User) -> str:
    """A one-time link (valid PASSWORD_RESET_TIMEOUT, 3 days) to choose a password."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.CITY311_SITE_URL.rstrip("/") + path


def send_welcome(user: User, link: str) -> bool:
    """E-mail the link to the user; False when there is no address or the mail failed."""
    if not user.email:
        return False
    name = profile.current().brand_name
    try:
        send_mail(
            f"Your {name} staff account",
            f"Hello {user.first_name or user.username},\n\n"
            f"An account was made for you on {name}: your user name is {user.username}.\n"
            f"Choose your password here (the link works once, for 3 days):\n\n{link}\n",
            None,
            [user.email],
        )
    except OSError:
        return False
    return True
