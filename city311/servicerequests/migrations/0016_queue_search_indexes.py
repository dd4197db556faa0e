"""Indexes for the work queue's filters on PostgreSQL (city311.work.queries): trigrams for the
word search ("address or description contains the word") and the filed-in areas for the area
filter (`areas @> {kind: {code}}`), so both are index lookups rather than scans of every
request. SQLite has no such indexes: its databases are small enough to scan."""

from django.db import migrations

INDEXES = {
    "sr_search_address": "address_string",
    "sr_search_description": "description",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        # The expression Django's icontains compares: UPPER("column"::text) LIKE UPPER(%s).
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON servicerequests_servicerequest "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS sr_areas ON servicerequests_servicerequest "
        "USING gin (areas jsonb_path_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in [*INDEXES, "sr_areas"]:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("servicerequests", "0015_teams_and_work_orders")]
    operations = [migrations.RunPython(create, drop)]
