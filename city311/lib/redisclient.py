"""One Redis client per thread, for the few places that talk to Redis directly."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    import redis

_local = threading.local()


def client(url: str = "") -> redis.Redis:
    """The calling thread's client for `url` (REDIS_URL by default), made on first use.

    Per thread: a client shared by a gunicorn worker's threads had new connections closed
    under it while they connected (ValueError: I/O operation on closed file, AttributeError on
    the parser's buffer), with redis-py 7 and 8. Kept, not made per call: Django's cache makes
    a client object for every call, which a filing's hot path could notice.
    """
    import redis

    url = url or settings.REDIS_URL
    found: redis.Redis | None = getattr(_local, "client", None)
    if found is None or getattr(_local, "url", None) != url:
        found = _local.client = redis.Redis.from_url(url)
        _local.url = url
    return found


def script(lua: str) -> redis.commands.core.Script:
    """A Lua script on the calling thread's client: EVALSHA, one round trip once Redis has it."""
    scripts: dict[str, redis.commands.core.Script] | None = getattr(_local, "scripts", None)
    found = client()
    if scripts is None or getattr(_local, "scripts_for", None) is not found:
        scripts = _local.scripts = {}
        _local.scripts_for = found
    if lua not in scripts:
        scripts[lua] = found.register_script(lua)
    return scripts[lua]
