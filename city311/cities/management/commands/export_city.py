from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from city311.cities.pack.export import NothingToExport, export_city


class Command(BaseCommand):
    help = (
        "Write the running city as a city pack (docs/city-pack.md) into a new or empty folder; "
        "import_city reads it back to the same city. Never writes a password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)

    def handle(self, *args: Any, folder: Path, **options: Any) -> None:
        with tqdm(
            desc="Addresses", unit=" rows", file=self.stderr, disable=options["verbosity"] == 0
        ) as bar:
            try:
                counts = export_city(folder, progress=bar.update)
            except NothingToExport as e:
                raise CommandError(str(e)) from None
        written = ", ".join(f"{n} {what}" for what, n in counts.items())
        self.stdout.write(f"Wrote the city to {folder}: {written}.")
