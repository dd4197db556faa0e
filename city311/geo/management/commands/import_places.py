from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from city311.geo.imports import GeoImportError, import_places
from city311.geo.management.commands._report import print_report


class Command(BaseCommand):
    help = (
        "Replace the named places (parks, facilities, landmarks) with a CSV (NAME, KIND, LAT, "
        "LONG, ALIASES) or a GeoJSON file whose features have a `name` property."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        try:
            report = import_places(path)
        except GeoImportError as e:
            raise CommandError(str(e)) from None
        print_report(self, report, "places")
