"""How often one address, or one e-mail or phone, may act on the portal: file reports, follow
and reopen requests.

Counts live in the cache shared by every web process (Redis in production, files locally);
`cache.add` then `cache.incr` are atomic, so two processes never both see room for one more.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

WINDOW_S = 3600


def client_address(request: HttpRequest) -> str:
    """The caller's IP; behind the city's proxy, the address the proxy saw."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        return str(forwarded.split(",")[-1].strip())
    return str(request.META.get("REMOTE_ADDR", ""))


@dataclass(frozen=True)
class Limited:
    """Too many reports: the resident may try again at `retry_at`."""

    retry_at: datetime

    @property
    def retry_after_s(self) -> int:
        return max(1, int((self.retry_at - timezone.now()).total_seconds()))


def count(kind: str, value: str, limit: int) -> Limited | None:
    """Count one attempt of `kind` by `value` this hour; Limited once over `limit`."""
    window = int(time.time() // WINDOW_S)
    # Hashed: the cache never holds a resident's e-mail or phone as such.
    digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]
    key = f"portal:reports:{digest}:{window}"
    cache.add(key, 0, timeout=WINDOW_S + 60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW_S + 60)
        count = 1
    if count <= limit:
        return None
    ends = datetime.fromtimestamp((window + 1) * WINDOW_S, tz=timezone.get_current_timezone())
    return Limited(ends + timedelta(seconds=0))


def spend(request: HttpRequest, contacts: list[str]) -> Limited | None:
    """Count one report from this address and these contacts; Limited when over a limit."""
    limited = count("ip", client_address(request), settings.CITY311_PORTAL_REPORTS_PER_IP)
    for contact in contacts:
        if contact:
            most = settings.CITY311_PORTAL_REPORTS_PER_CONTACT
            limited = count("contact", contact.strip().casefold(), most) or limited
    return limited
