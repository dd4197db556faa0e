from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from city311.geo.imports import GeoImportError, import_boundaries
from city311.geo.management.commands._report import print_report
from city311.geo.models import BoundaryKind


class Command(BaseCommand):
    help = (
        "Replace every area of one kind with the polygons of a GeoJSON file "
        "(EPSG:4326 longitude/latitude). Requests keep the areas they were filed in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--kind", required=True, choices=BoundaryKind.values)
        parser.add_argument(
            "--name-property",
            default="name",
            help="The feature property that names each area (default: name).",
        )
        parser.add_argument(
            "--code-property",
            default="",
            help="The property with each area's stable code (default: the name).",
        )

    def handle(
        self,
        *args: Any,
        path: Path,
        kind: str,
        name_property: str,
        code_property: str,
        **options: Any,
    ) -> None:
        self.stderr.write(f"Reading {path.name}...")
        try:
            report = import_boundaries(
                path, kind=kind, name_property=name_property, code_property=code_property
            )
        except GeoImportError as e:
            raise CommandError(str(e)) from None
        print_report(self, report, f"areas of kind {kind}")
