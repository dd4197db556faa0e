"""Who may POST: an active API key, within its rate limit."""

from __future__ import annotations

import time

from city311.lib import ratelimit
from city311.open311.models import ApiKey, hash_key

WINDOW_SECONDS = 60
# Each process keeps the keys it has seen this long before reading them again: a POST then
# needs no query for its key, and a key revoked in the admin stops working in every process
# within this time.
KEY_CACHE_SECONDS = 1.0
# Enough for every application a city has; a flood of made-up keys cannot grow it past this.
KEY_CACHE_SIZE = 1000

_seen: dict[str, tuple[float, ApiKey]] = {}


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
    key = _active_key(raw)
    if key is None:
        raise KeyRefused(403, "api_key is not valid: check the key, or ask the city for a new one.")
    return key


def _active_key(raw: str) -> ApiKey | None:
    """The active key `raw` names, read at most once a KEY_CACHE_SECONDS per process.

    Unknown keys are not kept: they are read every time, so a revoked key is never
    remembered as valid and made-up keys take no memory.
    """
    digest = hash_key(raw)
    now = time.monotonic()
    seen = _seen.get(digest)
    if seen is not None and now - seen[0] < KEY_CACHE_SECONDS:
        return seen[1]
    key = ApiKey.objects.filter(key_hash=digest, active=True).first()
    if key is None:
        _seen.pop(digest, None)
        return None
    if len(_seen) >= KEY_CACHE_SIZE:
        _seen.clear()
    _seen[digest] = (now, key)
    return key


def spend(key: ApiKey) -> None:
    """Count one POST against the key's limit per minute; KeyRefused (429) past the limit.

    Counted by `city311.lib.ratelimit`: one round trip, atomic across every web process.
    """
    # By the key's hash, not its id: ids are reused when a database is reset, hashes are not.
    limited = ratelimit.hit(
        "open311:post", key.key_hash, limit=key.rate_limit_per_minute, window_s=WINDOW_SECONDS
    )
    if limited is not None:
        retry = int(limited.retry_at.timestamp() - time.time()) + 1
        raise KeyRefused(
            429,
            f"Too many requests: this key may post {key.rate_limit_per_minute} a minute. "
            f"Try again in {retry} seconds.",
            retry_after=retry,
        )
