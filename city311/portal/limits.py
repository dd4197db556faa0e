"""How often one address or one e-mail or phone may file reports from the portal.

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
from django.utils import timezone

WINDOW_S = 3600


def per_ip() -> int:
    return int(getattr(settings, "CITY311_PORTAL_REPORTS_PER_IP", 20))


def per_contact() -> int:
    return int(getattr(settings, "CITY311_PORTAL_REPORTS_PER_CONTACT", 10))


@dataclass(frozen=True)
class Limited:
    """Too many reports: the resident may try again at `retry_at`."""

    retry_at: datetime

    @property
    def retry_after_s(self) -> int:
        return max(1, int((self.retry_at - timezone.now()).total_seconds()))


def _count(kind: str, value: str, limit: int) -> Limited | None:
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


def spend(ip: str, contacts: list[str]) -> Limited | None:
    """Count one report from this address and these contacts; Limited when over a limit."""
    limited = _count("ip", ip, per_ip())
    for contact in contacts:
        if contact:
            limited = _count("contact", contact.strip().casefold(), per_contact()) or limited
    return limited
