"""The live work queue's word search and area filter on PostgreSQL (city311.work.queries):
trigram and area indexes of live work only (not closed, not imported history), beside the
whole table's of 0016.

At a million requests, 85% of them closed, a word or an area of the default queue was read
from the whole table's index and every closed match thrown away after: "hydrant" found 50,000
rows to keep 7,500. These hold only the rows the default queue can show, so the page's and the
count's bitmap is that much smaller. Their condition is the queue's own (LIVE_WORK), so the
planner sees that the default queue's filter implies it. SQLite has no such indexes: its
databases are small enough to scan.
"""

from django.db import migrations

# Live work, as the queue's default filter says it (servicerequests.models.LIVE_WORK).
LIVE_WORK = "NOT (status = 'closed') AND NOT historical"
INDEXES = {
    # The expression Django's icontains compares: UPPER("column"::text) LIKE UPPER(%s).
    "sr_live_search_address": "(UPPER(address_string::text)) gin_trgm_ops",
    "sr_live_search_description": "(UPPER(description::text)) gin_trgm_ops",
    # `areas @> {kind: {code}}`, as the area filter asks on PostgreSQL.
    "sr_live_areas": "areas jsonb_path_ops",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON servicerequests_servicerequest "
            f"USING gin ({expression}) WHERE {LIVE_WORK}"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("servicerequests", "0022_queue_indexes_in_queue_order")]
    operations = [migrations.RunPython(create, drop)]
