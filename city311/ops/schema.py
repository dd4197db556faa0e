"""An empty database's schema in one step, rather than by replaying every migration.

On an empty database `migrate` replays the whole chain (125 migrations of Django's apps, the
libraries' and city311's). Django renders the model state again after each operation, so most
of its 8 s of CPU goes to states no database will ever have, and most of its 2,910 SQL
statements remake tables created a moment before. Squashing the chain does not help: measured,
2,585 statements and the same CPU, because foreign keys between the apps keep the optimizer
from folding the operations into the tables.

An empty database needs only the end of the chain. `create_schema` renders the chain's final
state once, creates its tables in one schema-editor pass, does for each operation the state
does not describe (the migrations in `BEYOND_THE_STATE`) what that operation does to an empty
database, and records every migration as applied, all in one transaction. `migrate` then finds
nothing to apply and sends post_migrate as usual (content types, permissions, roles). A
database with any table in it is left to `migrate`: every upgrade replays the chain as before.

tests/test_fresh_schema.py holds the two ways to the same result on SQLite and PostgreSQL: the
same tables, columns, indexes, constraints and rows, and migrations of the chain applied on top.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.migration import Migration
from django.db.migrations.operations.base import Operation
from django.db.migrations.operations.special import RunPython, RunSQL, SeparateDatabaseAndState
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState


def replay(migration: Migration, state: ProjectState, editor: BaseDatabaseSchemaEditor) -> None:
    """Run the migration's operations beyond the state, against the final state: they create
    what an empty database needs (an engine's own index or table) and read no old column."""
    for operation in migration.operations:
        if beyond_the_state(operation):
            operation.database_forwards(migration.app_label, editor, state, state)


def nothing(migration: Migration, state: ProjectState, editor: BaseDatabaseSchemaEditor) -> None:
    """The operation changes rows an empty database does not have."""


def _catalog_version(
    migration: Migration, state: ProjectState, editor: BaseDatabaseSchemaEditor
) -> None:
    """catalog 0005 moved Spanish columns' rows (none here) and started the catalog's token."""
    version = state.apps.get_model("catalog", "CatalogVersion")
    version.objects.using(editor.connection.alias).create(pk=1, token=uuid.uuid4().hex)


def _notifications_cursor(
    migration: Migration, state: ProjectState, editor: BaseDatabaseSchemaEditor
) -> None:
    """notifications 0005 started the notifications' cursor on the event stream at the old
    sweep's place, which on an empty database is the start: every event is to be handled."""
    cursor = state.apps.get_model("servicerequests", "ConsumerCursor")
    cursor.objects.using(editor.connection.alias).create(name="notifications")


Step = Callable[[Migration, ProjectState, BaseDatabaseSchemaEditor], None]

# Every migration with an operation the final state does not describe (RunPython, RunSQL),
# and what it comes to on an empty database. A migration that is not listed here sends a fresh
# database the long way, through every migration (and tests/test_fresh_schema.py fails until
# it is listed).
BEYOND_THE_STATE: dict[tuple[str, str], Step] = {
    ("contenttypes", "0002_remove_content_type_name"): nothing,
    ("auth", "0011_update_proxy_permissions"): nothing,
    ("axes", "0007_alter_accessattempt_unique_together"): nothing,
    ("catalog", "0005_spanish_into_translations"): _catalog_version,
    ("knowledge", "0002_full_text"): replay,
    ("notifications", "0001_initial"): nothing,  # its cursor row is replaced in 0005
    ("notifications", "0005_event_stream"): _notifications_cursor,
    ("ops", "0002_rate_counter_unlogged"): replay,
    ("reports", "0002_month_summary"): nothing,  # sums the month totals: none yet
    ("reports", "0007_day_summary"): nothing,  # sums the day totals: none yet
    ("servicerequests", "0016_queue_search_indexes"): replay,
    ("servicerequests", "0018_sla_clock_for_open_requests"): nothing,
    ("servicerequests", "0023_live_work_search_indexes"): replay,
}


def beyond_the_state(operation: Operation) -> bool:
    """An operation whose effect on the database the migration state does not record."""
    special = (RunPython, RunSQL, SeparateDatabaseAndState)
    return isinstance(operation, special) or not type(operation).__module__.startswith(
        "django.db.migrations.operations"
    )


def is_empty(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        return not connection.introspection.table_names(cursor)


def unlisted(plan: list[Migration]) -> list[str]:
    """The migrations of `plan` with an operation beyond the state that is not listed."""
    return [
        f"{m.app_label}.{m.name}"
        for m in plan
        if (m.app_label, m.name) not in BEYOND_THE_STATE
        and any(beyond_the_state(op) for op in m.operations)
    ]


def create_schema(using: str = DEFAULT_DB_ALIAS) -> int:
    """Give an empty database the schema of every migration in one step; returns how many
    migrations it recorded as applied. Returns 0, changing nothing, when the database has a
    table already or a migration does something `BEYOND_THE_STATE` does not list: `migrate`
    then does the work."""
    connection = connections[using]
    if not is_empty(connection):
        return 0
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    plan = [migration for migration, _ in executor.migration_plan(leaves)]
    if unlisted(plan):
        return 0
    state = executor.loader.project_state()
    recorder = MigrationRecorder(connection)
    # One transaction (both engines roll DDL back): a start cut short leaves an empty database.
    with connection.schema_editor(atomic=True) as editor:
        editor.create_model(recorder.Migration)
        for model in state.apps.get_models():
            if model._meta.can_migrate(connection) and router.allow_migrate_model(using, model):
                editor.create_model(model)
        # The indexes and foreign keys now, before the operations that build on the tables.
        for statement in editor.deferred_sql:
            editor.execute(statement)
        editor.deferred_sql.clear()
        for migration in plan:
            step = BEYOND_THE_STATE.get((migration.app_label, migration.name))
            if step is not None:
                step(migration, state, editor)
        # As the executor records them: a squashed migration as the ones it replaces.
        applied = [key for m in plan for key in (m.replaces or [(m.app_label, m.name)])]
        recorder.Migration.objects.using(using).bulk_create(
            recorder.Migration(app=app, name=name) for app, name in applied
        )
    return len(applied)
