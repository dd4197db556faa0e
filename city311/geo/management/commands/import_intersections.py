from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from city311.geo.imports import GeoImportError, import_intersections
from city311.geo.management.commands._report import print_report


class Command(BaseCommand):
    help = (
        "Replace the known street corners with a CSV (STREET1, STREET2, CITY, LAT, LON; "
        ".csv or .csv.gz). The geocoder answers corners (Dumont and Van Siclen) from these first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        try:
            report = import_intersections(path)
        except GeoImportError as e:
            raise CommandError(str(e)) from None
        print_report(self, report, "intersections")
