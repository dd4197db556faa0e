"""Long writers on SQLite pause between their batches, so that the other writers get in.

SQLite lets one writer at a time, and one waiting for the lock looks again every 100 ms at most
(its busy handler). Batches written back to back (the event stream replaying history to a
rollup, a history import, a demo city's activity, an address file) left a gap of a millisecond
or so between two: the web processes and the other workers waited for the whole load, or gave
up ("database is locked", seen after the demo's history loaded). A pause a little longer than
one look (`CITY311_SQLITE_PAUSE_MS`, 120 ms) lets every waiting writer in between two batches.
PostgreSQL locks rows, not the database: there is no pause there; nor inside an outer
transaction (a city pack's import), which holds the lock through the pause anyway.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from django.conf import settings
from django.db import connection

T = TypeVar("T")


def let_others_write() -> None:
    """Between two batches of a long writer: on SQLite, long enough for every waiting writer
    to look once."""
    if (
        connection.vendor == "sqlite"
        and not connection.in_atomic_block
        and settings.CITY311_SQLITE_PAUSE_MS
    ):
        time.sleep(settings.CITY311_SQLITE_PAUSE_MS / 1000)


def paced(batches: Iterable[T]) -> Iterator[T]:
    """Each of `batches` in turn, letting others write between two. The writer commits each
    batch before asking for the next."""
    for number, batch in enumerate(batches):
        if number:
            let_others_write()
        yield batch
