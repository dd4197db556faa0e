"""Printing an import's outcome the same way for every geography command."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from city311.geo.imports import ImportReport

SHOWN_PROBLEMS = 50


def print_report(command: BaseCommand, report: ImportReport, what: str) -> None:
    if report.problems:
        command.stderr.write(
            f"{len(report.problems)} row(s) were skipped; fix them in the file and import again:"
        )
        for problem in report.problems[:SHOWN_PROBLEMS]:
            command.stderr.write(f"  {problem}")
        if len(report.problems) > SHOWN_PROBLEMS:
            command.stderr.write(f"  ... and {len(report.problems) - SHOWN_PROBLEMS} more.")
    command.stdout.write(f"Imported {report.loaded} {what}.")
