"""Start-up checks: the search index runs inside the database, so the database must be one it
knows (SQLite FTS5 or PostgreSQL full-text search)."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

SEARCH_VENDORS = ("sqlite", "postgresql")


def unsupported(vendor: str) -> str:
    """What to do when the database is one the search index cannot run in."""
    return (
        f"The database is {vendor}, which city311's search cannot run in: it uses SQLite FTS5 "
        "or PostgreSQL full-text search. Set DATABASE_URL=postgres://user:password@host:5432/"
        "dbname (or sqlite:///path/to/city311.db) and start again."
    )


def require_search_database(alias: str = "default") -> None:
    """Raise ImproperlyConfigured, saying what to do, for a database search cannot run in."""
    vendor = connections[alias].vendor
    if vendor not in SEARCH_VENDORS:
        raise ImproperlyConfigured(unsupported(vendor))


@checks.register()
def check_search_database(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    vendor = connections["default"].vendor
    if vendor in SEARCH_VENDORS:
        return []
    return [checks.Error(unsupported(vendor), id="knowledge.E001")]
