"""Hold a half-signed-in session at the second step of sign-in (see twofactor.py)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from city311.accounts.twofactor import step_due

# What a session may reach before its second step: that step, signing out, and what carries
# no one's data (static files, the health check, the language switch).
OPEN_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/two-factor/verify/",
    "/accounts/two-factor/setup/",
    "/oidc/",
    "/static/",
    "/city/brand.css",  # the city's colours, on the sign-in pages too
    "/healthz",
    "/i18n/",
)


class TwoFactorMiddleware:
    """After django_otp's OTPMiddleware: a session that still owes a code (or, where the city
    requires it, an authenticator) is sent to give it before any other page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        step = step_due(request)
        if step is None:
            return self.get_response(request)
        where = reverse("two_factor:verify" if step == "verify" else "two_factor:setup")
        return HttpResponseRedirect(f"{where}?{urlencode({'next': request.get_full_path()})}")
