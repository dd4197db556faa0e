from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from city311.geo.imports import GeoImportError, import_addresses
from city311.geo.management.commands._report import print_report


class Command(BaseCommand):
    help = (
        "Replace the city's address points with an OpenAddresses-style CSV (LON, LAT, NUMBER, "
        "STREET, UNIT, CITY, POSTCODE, ID; .csv or .csv.gz) or a GeoJSON file of points."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        with tqdm(
            desc="Addresses", unit=" rows", file=self.stderr, disable=options["verbosity"] == 0
        ) as bar:
            try:
                report = import_addresses(path, progress=bar.update)
            except GeoImportError as e:
                raise CommandError(str(e)) from None
        print_report(self, report, "address points")
