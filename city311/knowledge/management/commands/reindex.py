"""`city311 reindex`: rebuild the search index from every app's documents()."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from city311.knowledge.index import rebuild


class Command(BaseCommand):
    help = "Rebuild the one search index from the documents() of every app that has them."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = rebuild()
        for source, count in sorted(counts.items()):
            self.stdout.write(f"{source}: {count} documents")
        self.stdout.write(f"Indexed {sum(counts.values())} documents.")
