"""`city311 prepare_database`: migrate, and give an empty database its schema in one step."""

from __future__ import annotations

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from city311.ops.schema import create_schema


class Command(BaseCommand):
    help = (
        "Migrate the database. An empty one gets the schema of every migration in one step "
        "(seconds instead of replaying each migration); any other is migrated as usual."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, database: str, verbosity: int, **options: Any) -> None:
        started = time.monotonic()
        recorded = create_schema(database)
        # Applies what is left (nothing after create_schema) and sends post_migrate.
        call_command(
            "migrate", database=database, interactive=False, verbosity=max(verbosity - 1, 0)
        )
        took = time.monotonic() - started
        if verbosity == 0:
            return
        if recorded:
            self.stdout.write(
                f"A new database: the schema of its {recorded} migrations created in one step "
                f"({took:.1f} s)."
            )
        else:
            self.stdout.write(f"The database is migrated ({took:.1f} s).")
