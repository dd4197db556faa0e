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


def refresh_open_data() -> int:
    """Rebuild the open data's lines when the city changed under them (a type made sensitive,
    a department renamed, a new kind of area, another time zone or phone region): until then
    downloads format as they read. Run by the schedule; the number of requests rendered."""
    from city311.reports import openlines

    return openlines.refresh()
