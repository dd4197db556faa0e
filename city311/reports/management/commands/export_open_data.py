"""Write the open data to a file: the same files /open-data/ serves."""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from city311.reports import opendata


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date such as 2026-11-30.") from None


class Command(BaseCommand):
    help = (
        "Write the city's requests as open data (NYC 41-column CSV, Open311 GeoReport Bulk "
        "CSV, GeoJSON or Parquet), streamed: memory stays flat whatever the size."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", required=True, choices=sorted(opendata.FORMATS))
        parser.add_argument("--out", required=True, help="The file to write; - for stdout.")
        parser.add_argument("--since", type=_day, help="First day received (YYYY-MM-DD).")
        parser.add_argument("--until", type=_day, help="Last day received, included.")

    def handle(self, *args: Any, **options: Any) -> None:
        since, until = options["since"], options["until"]
        try:
            opendata.check_range(since, until)
        except opendata.BadRange as e:
            raise CommandError(str(e)) from None
        started = time.monotonic()
        written = 0
        chunks = opendata.export(options["format"], since, until)
        if options["out"] == "-":
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            return
        out = Path(options["out"])
        try:
            with out.open("wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    written += len(chunk)
        except OSError as e:
            raise CommandError(f"Cannot write {out}: {e.strerror}.") from None
        seconds = time.monotonic() - started
        self.stderr.write(f"Wrote {written:,} bytes to {out} in {seconds:.1f} s.")
