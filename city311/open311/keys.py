"""Who may POST: an active API key, within its rate limit."""

from __future__ import annotations

import time

from django.core.cache import cache

from city311.open311.models import ApiKey

WINDOW_SECONDS = 60


class KeyRefused(Exception):
    def __init__(self, status: int, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


def authorise(raw: str) -> ApiKey:
    """The key a POST names; KeyRefused (403) when it is missing, unknown or revoked."""
    if not raw:
        raise KeyRefused(
            403, "api_key is missing: posting a request needs the key the city issued."
        )
    key = ApiKey.objects.authenticate(raw)
    if key is None:
        raise KeyRefused(403, "api_key is not valid: check the key, or ask the city for a new one.")
    return key


def spend(key: ApiKey) -> None:
    """Count one POST against the key's limit per minute; KeyRefused (429) past the limit.

    The count lives in Django's cache, so every web process shares it (atomically on Redis).
    """
    now = time.time()
    bucket = int(now // WINDOW_SECONDS)
    # By the key's hash, not its id: ids are reused when a database is reset, hashes are not.
    name = f"open311:rate:{key.key_hash[:20]}:{bucket}"
    cache.add(name, 0, timeout=WINDOW_SECONDS * 2)
    try:
        used = cache.incr(name)
    except ValueError:
        # The entry expired between add and incr: this is the first use in a new window.
        cache.set(name, 1, timeout=WINDOW_SECONDS * 2)
        used = 1
    if used > key.rate_limit_per_minute:
        retry = int((bucket + 1) * WINDOW_SECONDS - now) + 1
        raise KeyRefused(
            429,
            f"Too many requests: this key may post {key.rate_limit_per_minute} a minute. "
            f"Try again in {retry} seconds.",
            retry_after=retry,
        )
