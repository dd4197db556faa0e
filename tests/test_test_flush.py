"""The suite's own shortcut: transactional tests are emptied with DELETE (tests/conftest.py),
which is only right while every foreign key is checked at commit."""

from __future__ import annotations

import pytest
from django.core.management.color import no_style
from django.db import connection

from city311.catalog.models import Department, ServiceType


def _foreign_keys_checked_at_once() -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint "
                "WHERE contype = 'f' AND NOT (condeferrable AND condeferred)"
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: Django declares each foreign key DEFERRABLE INITIALLY DEFERRED in the
        # table's own SQL.
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%REFERENCES%'"
        )
        return [
            name
            for name, sql in cursor.fetchall()
            if sql.count("REFERENCES") != sql.count("DEFERRABLE INITIALLY DEFERRED")
        ]


@pytest.mark.django_db
def test_every_foreign_key_is_checked_at_commit():
    assert _foreign_keys_checked_at_once() == []


@pytest.mark.django_db(transaction=True)
def test_flush_empties_every_table_with_delete_whatever_references_what():
    tables = connection.introspection.django_table_names(only_existing=True)
    statements = connection.ops.sql_flush(no_style(), tables)
    assert len(statements) == len(tables)
    assert all(s.startswith("DELETE FROM") for s in statements), statements[:3]
    # A department referenced by a service type, emptied in the order the tables come.
    streets = Department.objects.create(name="Streets", slug="streets")
    ServiceType.objects.create(service_code="pothole", service_name="Pothole", department=streets)
    connection.ops.execute_sql_flush(statements)
    assert not Department.objects.exists() and not ServiceType.objects.exists()
