"""The engine's full-text index over the search documents' terms: FTS5 on SQLite (with its
vocabulary table, read to correct typing errors), a stored tsvector with GIN indexes on
PostgreSQL."""

from typing import Any

from django.db import migrations

SQLITE = [
    # audience is stored, not indexed: public searches filter on it without a join.
    "CREATE VIRTUAL TABLE knowledge_fts USING fts5("
    "title_terms, terms, audience UNINDEXED, tokenize='unicode61')",
    # "ORDER BY rank" is the order FTS5 sorts fastest; titles (and keywords) weigh 3.
    "INSERT INTO knowledge_fts(knowledge_fts, rank) VALUES('rank', 'bm25(3.0, 1.0, 0.0)')",
    "CREATE VIRTUAL TABLE knowledge_fts_vocab USING fts5vocab(knowledge_fts, 'row')",
]
POSTGRESQL = [
    # The document's vector, kept by PostgreSQL itself: ranking reads it instead of parsing
    # every matching document's terms again. Titles (and keywords) weigh A, bodies D.
    "ALTER TABLE knowledge_searchdocument ADD COLUMN vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple', title_terms), 'A') || "
    "setweight(to_tsvector('simple', terms), 'D')) STORED",
    "CREATE INDEX knowledge_search_vector ON knowledge_searchdocument USING gin (vector)",
    # The titles-only search that finds most candidates.
    "CREATE INDEX knowledge_search_title_terms ON knowledge_searchdocument "
    "USING gin (to_tsvector('simple', title_terms))",
]


def create(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for statement in SQLITE if vendor == "sqlite" else POSTGRESQL if vendor == "postgresql" else []:
        schema_editor.execute(statement)


def drop(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS knowledge_fts_vocab")
        schema_editor.execute("DROP TABLE IF EXISTS knowledge_fts")
    elif vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS knowledge_search_title_terms")
        schema_editor.execute("ALTER TABLE knowledge_searchdocument DROP COLUMN vector")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
