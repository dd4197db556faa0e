"""`city311 create_api_key APP_NAME`: issue an Open311 API key and print it on the last line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from city311.open311.models import ApiKey


class Command(BaseCommand):
    help = "Issue an Open311 API key for an application. The key is printed once, on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("application", help="The application's name, e.g. FixMyStreet")
        parser.add_argument(
            "--rate-limit", type=int, default=None, help="POSTs per minute (default 120)"
        )

    def handle(self, *args: Any, application: str, rate_limit: int | None, **options: Any) -> None:
        if not application.strip():
            raise CommandError("Give the application's name, e.g. city311 create_api_key MyApp")
        if rate_limit is not None and rate_limit < 1:
            raise CommandError("--rate-limit must be at least 1 request per minute.")
        key, raw = ApiKey.issue(application, rate_limit_per_minute=rate_limit)
        self.stderr.write(f"Issued a key for {key.application}; it is shown only now.")
        self.stdout.write(raw)
