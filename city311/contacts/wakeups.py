"""Telling a call taker's console that the phone system has given them a call, whichever web
process (on whichever machine) holds the console's open stream.

The database is the only thing the web processes share, so it carries the news:

- PostgreSQL: `answer_interaction` sends `NOTIFY city311_call_<staff id>`; the stream waiting
  for that call taker has said `LISTEN` on its own connection and wakes at once. NOTIFY is
  transactional: it reaches the listeners when the answer commits, never before.
- SQLite (one machine, any number of processes): the waiting stream reads "is a call in hand?"
  (one EXISTS on `interaction_open_by_staff`) every `SQLITE_EVERY` seconds.

The supervisor's live view hears the same way of every contact's change (`contacts_changed`,
channel `city311_contacts`; on SQLite it reads the day's log's fingerprint every 0.5 s).

Either way the stream first listens, then reads the table, then waits, so a call given between
the page's load and the stream's start is not missed. Nothing is kept in a process's memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection

# How often a stream on SQLite reads whether a call is in hand: at most this late.
SQLITE_EVERY = 0.25
# How often a supervisor's stream on SQLite reads the day's contact log (one aggregate over
# today's rows on interaction_started_at): "within seconds" needs no more.
SQLITE_CONTACTS_EVERY = 0.5
# Every contact's start, answer, wrap-up and end: the supervisors' live views listen here.
CONTACTS = "city311_contacts"


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
    return _wait(_channel(staff_id), in_hand, seconds, SQLITE_EVERY)


def contacts_changed() -> None:
    """A contact started, was answered, wrapped up or ended: wake the supervisors' live
    views. Inside a transaction, PostgreSQL sends it on commit (and once, however many
    contacts the transaction changed); SQLite's streams read the log's fingerprint."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [CONTACTS])


def wait_for_contacts(changed: Callable[[], bool], *, seconds: float) -> bool:
    """Wait up to `seconds` until `changed()` (the day's contact log is not what the
    supervisor's page shows: contacts.reports.log_version): True at once when it holds."""
    return _wait(CONTACTS, changed, seconds, SQLITE_CONTACTS_EVERY)


def _wait(channel: str, ready: Callable[[], bool], seconds: float, every: float) -> bool:
    if connection.vendor == "postgresql":
        return _listen(channel, ready, seconds)
    deadline = time.monotonic() + seconds
    while True:
        if ready():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(every, left))


def _listen(channel: str, ready: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        cursor.execute(f"LISTEN {channel}")
    try:
        # Listening first, then the table: a change made just before the LISTEN is read here.
        if ready():
            return True
        raw = connection.connection
        while (left := deadline - time.monotonic()) > 0:
            # Read to its end before asking the table: psycopg holds the connection's lock
            # while its notifies() is being iterated, and a query inside would wait forever.
            heard = list(raw.notifies(timeout=left, stop_after=1))
            if heard and ready():
                return True
        return False
    finally:
        # The connection goes back to the thread's next request: it must hear nothing more.
        with connection.cursor() as cursor:
            cursor.execute(f"UNLISTEN {channel}")
