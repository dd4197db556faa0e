"""Search runs inside the database: on one it cannot run in, city311 says so at start-up, with
what to set, instead of failing at the first search."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection

from city311.knowledge import index


def test_the_check_passes_on_the_database_it_runs_on():
    call_command("check", verbosity=0)


def test_an_unknown_database_fails_the_start_up_check_saying_what_to_set(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "mysql")
    with pytest.raises(SystemCheckError) as raised:
        call_command("check", verbosity=0)
    message = str(raised.value)
    assert "knowledge.E001" in message
    assert "The database is mysql" in message
    assert "DATABASE_URL=postgres://" in message


def test_a_search_on_an_unknown_database_is_a_configuration_error_not_a_crash(db, monkeypatch):
    monkeypatch.setattr(connection, "vendor", "oracle")
    with pytest.raises(ImproperlyConfigured, match="SQLite FTS5 or PostgreSQL"):
        index.vocabulary(stamp="a stamp no cached vocabulary has")
