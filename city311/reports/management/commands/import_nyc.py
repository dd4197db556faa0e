"""Load New York City-shaped 311 files (reports.nycimport)."""

from __future__ import annotations

import csv
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from city311.reports import nycimport
from city311.servicerequests import bulk


class Command(BaseCommand):
    help = (
        "Load NYC 311 CSV files (any of the open data's layouts, gzipped or not) as historical "
        "requests, set-wise: every line that cannot be loaded is reported by its number. The "
        "reports are brought up to date afterwards."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
        parser.add_argument(
            "--mapping",
            type=Path,
            default=nycimport.DEFAULT_MAPPING,
            help="JSON mapping of complaint types onto service codes (default: the New York "
            "pack's). The catalog's own service names and codes always match first.",
        )
        parser.add_argument(
            "--rejects",
            type=Path,
            metavar="CSV",
            help="Also write every rejected line to this CSV file (file, line, reason), to "
            "correct and load again.",
        )
        parser.add_argument(
            "--no-rollups",
            action="store_true",
            help="Leave the report rollups alone (for a very large load: run rebuild_reports "
            "once afterwards instead of catching up file by file).",
        )

        parser.add_argument(
            "--indexes",
            choices=bulk.INDEX_CHOICES,
            default="auto",
            help="PostgreSQL: 'rebuild' drops the requests' secondary indexes and foreign keys "
            "for the load and builds them again after, as a restore does (the tables are "
            "locked meanwhile, readers included); 'keep' inserts into them as they are; "
            f"'auto' (default) rebuilds for a load of {bulk.BULK_FROM:,} requests or more "
            "into a table that holds no more than the load brings (a first import).",
        )

    def handle(self, *args: Any, files: list[Path], mapping: Path, **options: Any) -> None:
        with ExitStack() as stack:
            rejects = None
            if options["rejects"]:
                try:
                    out = stack.enter_context(Path(options["rejects"]).open("w", newline=""))
                except OSError as e:
                    raise CommandError(
                        f"Cannot write {options['rejects']}: {e.strerror}."
                    ) from None
                rejects = csv.writer(out)
                rejects.writerow(["file", "line", "reason"])
            self.load(
                files,
                mapping,
                rejects,
                no_rollups=options["no_rollups"],
                indexes=options["indexes"],
                verbosity=options["verbosity"],
            )

    def load(self, files: list[Path], mapping: Path, writer: Any, **options: Any) -> None:
        quiet = options["verbosity"] < 1
        rejected_anywhere = 0
        for path in files:
            started = time.monotonic()
            bar = tqdm(
                desc=path.name, unit=" lines", unit_scale=True, file=self.stderr, disable=quiet
            )
            try:
                result = nycimport.import_nyc(
                    path,
                    mapping=mapping,
                    progress=bar.update,
                    say=None if quiet else partial(tqdm.write, file=self.stderr),
                    catch_up=not options["no_rollups"],
                    indexes=options["indexes"],
                )
            except nycimport.ImportFailed as e:
                raise CommandError(str(e)) from None
            finally:
                bar.close()
            for line, problem in result.rejected:
                self.stderr.write(f"{path.name}, line {line}: {problem}")
                if writer is not None:
                    writer.writerow([path.name, line, problem])
            seconds = time.monotonic() - started
            rate = result.imported / seconds if seconds else 0
            self.stdout.write(
                f"{path.name}: imported {result.imported:,} requests, rejected "
                f"{len(result.rejected):,} lines, in {seconds:.1f} s ({rate:,.0f} rows/s)."
            )
            rejected_anywhere += len(result.rejected)
        if rejected_anywhere:
            raise CommandError(
                f"{rejected_anywhere:,} lines were rejected (listed above, by line number); "
                "the other lines were imported.",
                returncode=2,
            )
