"""How often one address, or one e-mail or phone, may act on the portal: file reports, follow
and reopen requests.

Counted by `city311.lib.ratelimit`, shared by every web process (on Redis, or in the database);
two processes never both see room for one more.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from city311.lib.ratelimit import Limited, hit

WINDOW_S = 3600

__all__ = ["Limited", "client_address", "count", "spend"]


def client_address(request: HttpRequest) -> str:
    """The caller's IP; behind the city's proxy, the address the proxy saw."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        return str(forwarded.split(",")[-1].strip())
    return str(request.META.get("REMOTE_ADDR", ""))


def count(kind: str, value: str, limit: int) -> Limited | None:
    """Count one attempt of `kind` by `value` this hour; Limited once over `limit`."""
    return hit(f"portal:{kind}", value, limit=limit, window_s=WINDOW_S)


def spend(request: HttpRequest, contacts: list[str]) -> Limited | None:
    """Count one report from this address and these contacts; Limited when over a limit."""
    limited = count("ip", client_address(request), settings.CITY311_PORTAL_REPORTS_PER_IP)
    for contact in contacts:
        if contact:
            most = settings.CITY311_PORTAL_REPORTS_PER_CONTACT
            limited = count("contact", contact.strip().casefold(), most) or limited
    return limited
