"""city311 restore DIR: put back the database and the photos of a `city311 backup`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from city311.ops.backups import BackupError, read_backup, restore


class Command(BaseCommand):
    help = (
        "Replace the city's database and uploaded photos with a backup made by `city311 backup`."
        " Stop the city's web and task processes first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="The folder `city311 backup` wrote.")
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask before replacing the city's data."
        )

    def handle(self, *args: Any, folder: Path, yes: bool, **options: Any) -> None:
        progress = options["verbosity"] > 0
        try:
            manifest = read_backup(folder)
            if not yes and not self._confirmed(manifest):
                raise CommandError("Nothing was changed. Type 'restore' when asked, or pass --yes.")
            restore(folder, say=self.stdout.write, progress=progress)
        except BackupError as e:
            raise CommandError(str(e)) from None
        self.stdout.write("Applying migrations newer than the backup, if any…")
        call_command("migrate", verbosity=0, interactive=False)
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the backup made {manifest['created_at']} from {folder}. "
                "Start the city again."
            )
        )

    def _confirmed(self, manifest: dict[str, Any]) -> bool:
        try:
            answer = input(
                "This replaces every request, account and photo of this city with the backup "
                f"made {manifest['created_at']}. Type 'restore' to go on: "
            )
        except EOFError:
            return False
        return answer.strip() == "restore"
