"""Telling a call taker's console that the phone system has given them a call, whichever web
process (on whichever machine) holds the console's open stream.

The database is the only thing the web processes share, so it carries the news:

- PostgreSQL: `answer_interaction` sends `NOTIFY city311_call_<staff id>`; the stream waiting
  for that call taker has said `LISTEN` on its own connection and wakes at once. NOTIFY is
  transactional: it reaches the listeners when the answer commits, never before.
- SQLite (one machine, any number of processes): the waiting stream reads "is a call in hand?"
  (one EXISTS on `interaction_open_by_staff`) every `SQLITE_EVERY` seconds.

Either way the stream first listens, then reads the table, then waits, so a call given between
the page's load and the stream's start is not missed. Nothing is kept in a process's memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection

# How often a stream on SQLite reads whether a call is in hand: at most this late.
SQLITE_EVERY = 0.25


def _channel(staff_id: int) -> str:
    return f"city311_call_{int(staff_id)}"


def call_given(staff_id: int) -> None:
    """`staff_id` has a call in hand (the phone system's "answered"): wake their console.
    Inside a transaction, PostgreSQL sends it on commit; SQLite's streams read the table."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [_channel(staff_id)])


def wait_for_call(staff_id: int, in_hand: Callable[[], bool], *, seconds: float) -> bool:
    """Wait up to `seconds` until `in_hand()` (contacts.actions.has_call_in_hand for the
    call taker `staff_id`): True at once when it holds, False when the time is up. Holds
    this thread (and its database connection) meanwhile."""
    if connection.vendor == "postgresql":
        return _listen(staff_id, in_hand, seconds)
    deadline = time.monotonic() + seconds
    while True:
        if in_hand():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(SQLITE_EVERY, left))


def _listen(staff_id: int, in_hand: Callable[[], bool], seconds: float) -> bool:
    channel = _channel(staff_id)
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        cursor.execute(f"LISTEN {channel}")
    try:
        # Listening first, then the table: a call given just before the LISTEN is read here.
        if in_hand():
            return True
        raw = connection.connection
        while (left := deadline - time.monotonic()) > 0:
            # Read to its end before asking the table: psycopg holds the connection's lock
            # while its notifies() is being iterated, and a query inside would wait forever.
            heard = list(raw.notifies(timeout=left, stop_after=1))
            if heard and in_hand():
                return True
        return False
    finally:
        # The connection goes back to the thread's next request: it must hear nothing more.
        with connection.cursor() as cursor:
            cursor.execute(f"UNLISTEN {channel}")
