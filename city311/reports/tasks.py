"""Background work of the reports."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from city311.cities import profile
from city311.reports import monthly


def write_monthly_reports() -> list[str]:
    """Write last month's charter report (CSV, and PDF where WeasyPrint is installed) into the
    data folder, once: run daily by the schedule, so it is there the day after a month ends.
    The names of the files written."""
    # The city's month, not the worker's (UTC unless CITY311_TIME_ZONE says otherwise).
    last_month = timezone.localdate(timezone=profile.zone()).replace(day=1) - timedelta(days=1)
    folder = monthly.archive_dir()
    stem = f"monthly-{last_month:%Y-%m}"
    written = []
    if not (folder / f"{stem}.csv").exists():
        report = monthly.build(last_month)
        (folder / f"{stem}.csv").write_text(monthly.csv_text(report), encoding="utf-8")
        written.append(f"{stem}.csv")
        pdf = monthly.pdf_bytes(report)
        if pdf is not None:
            (folder / f"{stem}.pdf").write_bytes(pdf)
            written.append(f"{stem}.pdf")
    return written
