"""`city311 install_assets`: the front-end libraries, from the npm registry into static/vendor."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from city311.ops.assets import VENDOR_DIR, AssetsError, install_assets


class Command(BaseCommand):
    help = "Install USWDS, htmx and Leaflet (locked versions) into city311/static/vendor."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Install even if up to date.")

    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        try:
            changed = install_assets(force=force, say=self.stdout.write)
        except AssetsError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(
            f"city311: front-end libraries {'installed' if changed else 'up to date'} "
            f"in {VENDOR_DIR}"
        )
