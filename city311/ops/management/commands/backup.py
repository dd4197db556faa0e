"""city311 backup DIR: the database and the uploaded photos, with a manifest of checksums."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from city311.ops.backups import BackupError, backup


class Command(BaseCommand):
    help = "Back up the city (database and uploaded photos) into a new folder, while it runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="A new or empty folder for the backup.")

    def handle(self, *args: Any, folder: Path, **options: Any) -> None:
        progress = options["verbosity"] > 0
        try:
            manifest = backup(folder, say=self.stdout.write, progress=progress)
        except BackupError as e:
            raise CommandError(str(e)) from None
        files = len(manifest["files"]) - 1
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up the {manifest['database']['engine']} database and {files} "
                f"photo file{'s' if files != 1 else ''} into {folder}. "
                f"Restore with: city311 restore {folder}"
            )
        )
