"""Recount the report rollups from the requests: after a bulk load, or to repair them."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from city311.reports import openlines
from city311.reports.rollup import rebuild


class Command(BaseCommand):
    help = (
        "Recount the reports' facts and day totals from every request (after a bulk load of "
        "history, or to repair them), and the open data's lines ready to send. The event "
        "stream keeps them up to date otherwise."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(done: int) -> None:
            if options["verbosity"] > 1:
                self.stdout.write(f"{done:,} requests counted")

        done = rebuild(progress=progress)
        seconds = time.monotonic() - started
        self.stdout.write(f"Counted {done:,} requests in {seconds:.1f} s.")
        started = time.monotonic()
        rendered = openlines.rebuild()
        if rendered:
            seconds = time.monotonic() - started
            self.stdout.write(f"Wrote the open data of {rendered:,} requests in {seconds:.1f} s.")
