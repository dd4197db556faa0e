"""`city311 compress_static`: compress the collected static files that are not yet."""

from typing import Any

from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError

from city311.ops.static import StaticStorage


class Command(BaseCommand):
    help = (
        "Write the gzip and Brotli copies of the collected static files that have none of "
        "their current version (`city311 up` runs it once the site is up)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        storage = storages["staticfiles"]
        if not isinstance(storage, StaticStorage):
            raise CommandError("The static files' storage is not city311's: nothing to compress.")
        written = storage.compress_all()
        if options["verbosity"]:
            self.stdout.write(f"Static files: {written} compressed copies written.")
