"""How often someone may do something: one fixed-window counter per (scope, who, window).

Every rate limit of city311 counts here: Open311 POSTs per API key a minute, and portal reports,
follows and reopens per connection or contact an hour. A check is one round trip, atomic across
any number of processes and machines:

- with `REDIS_URL`, on Redis: INCR, and EXPIREAT on a new key, in one Lua call;
- without, in the database: one `INSERT ... ON CONFLICT DO UPDATE SET count = count + 1
  RETURNING count` on `ops.RateCounter` (SQLite 3.35+ and PostgreSQL), swept periodically.

Who is counted is hashed, so neither store ever holds an address, e-mail or phone as such.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from django.conf import settings
from django.db import connection
from django.utils import timezone

from city311.lib import redisclient

# Redis keeps a key a little past its window, so a slow clock never reads a fresh count.
REDIS_GRACE_S = 60
# Atomic on Redis, one command and one reply: the counter, ending with its window.
_INCR_SCRIPT = """
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('EXPIREAT', KEYS[1], ARGV[1]) end
return used
"""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limited:
    """Over the limit: the next try may succeed at `retry_at`, when the window ends."""

    retry_at: datetime

    @property
    def retry_after_s(self) -> int:
        return max(1, int((self.retry_at - timezone.now()).total_seconds()))


def hit(scope: str, who: str, *, limit: int, window_s: int) -> Limited | None:
    """Count one attempt by `who` in `scope` this window; Limited once it is past `limit`."""
    now = time.time()
    window = int(now // window_s)
    digest = hashlib.sha256(f"{scope}:{who}".encode()).hexdigest()[:32]
    name = f"{scope}:{digest}:{window}"
    ends = (window + 1) * window_s
    used = _incr_redis(name, ends) if settings.REDIS_URL else None
    if used is None:
        used = _incr_database(name, ends)
    if used <= limit:
        return None
    return Limited(datetime.fromtimestamp(ends, tz=UTC))


def sweep_rate_counters() -> int:
    """Delete the database counters of windows that have ended; how many went."""
    from city311.ops.models import RateCounter

    deleted, _ = RateCounter.objects.filter(expires__lt=int(time.time())).delete()
    return deleted


def _incr_redis(name: str, ends: int) -> int | None:
    """The count on Redis; None when Redis cannot answer, and the database counts instead:
    a resident's report is not refused because the limiter's store is down."""
    import redis

    key = f"city311:{settings.Q_CLUSTER['name']}:rate:{name}"
    try:
        used = redisclient.script(_INCR_SCRIPT)(keys=[key], args=[ends + REDIS_GRACE_S])
    except (redis.RedisError, OSError, ValueError, AttributeError) as e:
        log.warning("Rate limit counted in the database: Redis failed (%s)", type(e).__name__)
        return None
    return int(used)


@cache
def _upsert_sql(vendor: str) -> str:
    from city311.ops.models import RateCounter

    q = connection.ops.quote_name
    table = q(RateCounter._meta.db_table)
    return (
        f"INSERT INTO {table} ({q('name')}, {q('count')}, {q('expires')}) VALUES (%s, 1, %s) "
        f"ON CONFLICT ({q('name')}) DO UPDATE SET {q('count')} = {table}.{q('count')} + 1 "
        f"RETURNING {q('count')}"
    )


def _incr_database(name: str, ends: int) -> int:
    # One statement: the row lock (PostgreSQL) or the write lock (SQLite) makes the
    # increment and the read of its result one step, whatever other processes do. Outside a
    # transaction it commits at once, so a count is never held back by a slow request.
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(connection.vendor), [name, ends])
        row = cursor.fetchone()
    return int(row[0])
