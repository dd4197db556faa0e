from typing import Any

from django.core.management.base import BaseCommand, CommandError

from city311.catalog import classifier


class Command(BaseCommand):
    help = (
        "Train the service suggestion's model on the catalog (names, keywords, example phrases) "
        "and the city's described requests, and use it at once. Also runs every night."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            trained = classifier.train()
        except ValueError as e:
            raise CommandError(str(e)) from None
        n = sum(trained.examples.values())
        self.stdout.write(
            f"Trained on {n} examples for {len(trained.examples)} service types "
            f"in {trained.seconds:.1f} s ({len(trained.data) / 1e6:.1f} MB)."
        )
