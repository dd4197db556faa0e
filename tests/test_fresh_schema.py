"""An empty database gets the schema of every migration in one step (city311/ops/schema.py):
the same tables, columns, indexes, constraints and rows as the migrations replayed one by one,
on the suite's engine. A database migrated part of the way goes on the long way, and the
chain's migrations still apply to a database made in one step."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from city311.ops.schema import unlisted
from tests.helpers import run_city311

NewDatabase = Callable[[str], str]


def _server(dbname: str) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host, port = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432
    return f"postgresql://{s.get('USER') or ''}{password}@{host}:{port}/{dbname}"


@pytest.fixture(scope="module")
def new_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NewDatabase]:
    """Makes an empty database of the suite's engine; returns its DATABASE_URL."""
    folder = tmp_path_factory.mktemp("databases")
    made: list[str] = []

    def make(name: str) -> str:
        if connection.vendor == "sqlite":
            return f"sqlite:///{folder / name}.db"
        dbname = f"city311_fresh_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(_server("postgres"), autocommit=True) as server:
            server.execute(f'CREATE DATABASE "{dbname}"')
        made.append(dbname)
        return _server(dbname).replace("postgresql://", "postgres://", 1)

    yield make
    with psycopg.connect(_server("postgres"), autocommit=True) as server:
        for dbname in made:
            server.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def city311(url: str, *args: str) -> str:
    env = {"DATABASE_URL": url, "PYTHONUNBUFFERED": "1", "CITY311_LOG_LEVEL": "WARNING"}
    result = run_city311(*args, env={**_base_env(), **env}, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}


def describe(url: str) -> dict[str, Any]:
    """What a database holds, engine by engine: each table's columns in order, its indexes,
    constraints and number of rows, and everything else the engine keeps in its catalog."""
    if url.startswith("sqlite:"):
        return _describe_sqlite(url.removeprefix("sqlite:///"))
    return _describe_postgresql(url.replace("postgres://", "postgresql://", 1))


def _describe_sqlite(path: str) -> dict[str, Any]:
    # By name, not position: SQLite's table remakes (how it alters a column) put a table's
    # columns in another order than creating it does, and Django names every column it reads.
    found: dict[str, Any] = {}
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
        for kind, name, table, sql in rows:
            if kind == "table" and sql and "VIRTUAL TABLE" not in sql:
                columns = db.execute(f'PRAGMA table_info("{name}")').fetchall()
                found[f"table {name}"] = {
                    "columns": sorted(column[1:] for column in columns),
                    "foreign keys": sorted(
                        key[2:] for key in db.execute(f'PRAGMA foreign_key_list("{name}")')
                    ),
                    "rows": db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0],
                }
            elif kind == "index":
                columns = db.execute(f'PRAGMA index_info("{name}")').fetchall()
                found[f"index {name}"] = (table, sql, [column[2] for column in columns])
            else:
                found[f"{kind} {name}"] = sql
    return found


POSTGRESQL = {
    # Positions count dropped columns too: the order, not the numbers.
    "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default, "
    "character_maximum_length, generation_expression FROM information_schema.columns "
    "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
    "FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
    "relations": "SELECT relname, relkind, relpersistence FROM pg_class "
    "WHERE relnamespace = 'public'::regnamespace ORDER BY 1",
    "extensions": "SELECT extname FROM pg_extension ORDER BY 1",
}


def _describe_postgresql(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as db:
        found: dict[str, Any] = {k: db.execute(q).fetchall() for k, q in POSTGRESQL.items()}
        tables = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in tables.fetchall():
            found[f"rows {table}"] = db.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return found


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [
        f"{key}:\n  {a.get(key)}\n  {b.get(key)}"
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    ]


def _migrations() -> int:
    return len(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


@pytest.fixture(scope="module")
def replayed(new_database: NewDatabase) -> dict[str, Any]:
    """A database made the long way: every migration in turn."""
    url = new_database("replayed")
    city311(url, "migrate", "-v0")
    return describe(url)


def test_an_empty_database_gets_every_migration_in_one_step(new_database):
    loader = MigrationLoader(None, ignore_no_migrations=True)
    plan = [loader.graph.nodes[key] for key in loader.graph.nodes]
    # A migration that runs code or SQL is listed with what it comes to on an empty database.
    assert unlisted(plan) == [], "list these in city311/ops/schema.py's BEYOND_THE_STATE"
    url = new_database("one_step")
    said = city311(url, "prepare_database")
    assert f"the schema of its {_migrations()} migrations created in one step" in said
    # Nothing is left for `migrate` to apply.
    city311(url, "migrate", "--check")


def test_the_one_step_schema_is_the_replayed_one(new_database, replayed):
    url = new_database("compared")
    city311(url, "prepare_database")
    assert _differences(replayed, describe(url)) == []


def test_the_chain_applies_on_a_database_made_in_one_step(new_database, replayed):
    url = new_database("chain_on_top")
    city311(url, "prepare_database")
    # Back before the full-text index (engine SQL run by code) and forward again.
    city311(url, "migrate", "knowledge", "0001_initial", "-v0")
    city311(url, "migrate", "-v0")
    assert _differences(replayed, describe(url)) == []


def test_a_database_migrated_part_way_goes_on_the_long_way(new_database, replayed):
    url = new_database("part_way")
    city311(url, "migrate", "servicerequests", "0015_teams_and_work_orders", "-v0")
    said = city311(url, "prepare_database")
    assert "The database is migrated" in said
    assert "one step" not in said
    assert _differences(replayed, describe(url)) == []
