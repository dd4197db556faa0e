"""Versions of the imported geography, and per-process caches that follow them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.conf import settings
from django.db.models import F

from city311.geo.models import GeoDataset

T = TypeVar("T")


def bump_version(name: str, *, source: str, rows: int) -> None:
    """Record a new import of `name`; every process's cache of it rebuilds on its next check."""
    dataset, _ = GeoDataset.objects.get_or_create(name=name)
    GeoDataset.objects.filter(pk=dataset.pk).update(version=F("version") + 1)
    dataset.refresh_from_db()
    dataset.source, dataset.rows = source[:300], rows
    dataset.save(update_fields=["source", "rows", "imported_at"])


def current_versions(names: tuple[str, ...]) -> tuple[object, ...]:
    """Version and import time of each dataset: together they change on every import."""
    rows = GeoDataset.objects.filter(name__in=names).values_list("name", "version", "imported_at")
    found = {name: (version, at) for name, version, at in rows}
    return tuple(found.get(name, (0, None)) for name in names)


class VersionedCache(Generic[T]):
    """A value built from the database, rebuilt when the named datasets' versions change.

    The versions are re-read at most every CITY311_GEO_RECHECK_SECONDS, so a busy process asks
    the database once in a while, not on every lookup.
    """

    def __init__(self, names: tuple[str, ...], build: Callable[[], T]) -> None:
        self.names, self.build = names, build
        self.value: T | None = None
        self.versions: tuple[object, ...] | None = None
        self.checked = 0.0
        self.lock = threading.Lock()

    def get(self) -> T:
        recheck = getattr(settings, "CITY311_GEO_RECHECK_SECONDS", 10)
        # Read once: another thread may replace the value between a check and a return.
        value = self.value
        if value is not None and time.monotonic() - self.checked < recheck:
            return value
        with self.lock:
            versions = current_versions(self.names)
            if self.value is None or versions != self.versions:
                self.value, self.versions = self.build(), versions
            self.checked = time.monotonic()
            return self.value

    def invalidate(self) -> None:
        """Rebuild on the next `get`; until then, readers keep the value they have."""
        with self.lock:
            self.versions, self.checked = None, 0.0
