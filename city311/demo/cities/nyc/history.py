"""The New York demo's history: the real NYC 311 records shipped with its pack, mapped onto its
catalog. The pack's manifest names this module (`history.module`); see docs/city-pack.md."""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from city311.reports import nyc
from city311.servicerequests.imports import HistoricalRecord
from city311.servicerequests.models import Channel

HERE = Path(__file__).parent / "history"
NYC = ZoneInfo("America/New_York")
# The requests' application: a history already loaded is not loaded again.
SOURCE = "NYC 311 open data"
# The one file without a header: its columns by position.
HEADERLESS = {"nyc311_comp370_2020_5cols_noheader.csv.gz": nyc.HEADERLESS[5]}
CHANNELS = {"ONLINE": Channel.WEB, "MOBILE": Channel.MOBILE_APP, "PHONE": Channel.PHONE}


def records() -> Iterator[HistoricalRecord]:
    """Every record of the shipped files, oldest file first."""
    mapping = Mapping()
    for path in record_files():
        yield from read_records(path, mapping)


def record_files() -> list[Path]:
    return sorted(HERE.glob("*.csv.gz"))


class Mapping(nyc.Mapping):
    """The pack's complaint types onto its catalog (history/mapping.json)."""

    def __init__(self, path: Path = HERE / "mapping.json") -> None:
        super().__init__(path)


def _parse_time(text: str) -> datetime | None:
    return nyc.parse_time(text, NYC)


def _float(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if value != 0.0 else None


def read_records(path: Path, mapping: Mapping) -> Iterator[HistoricalRecord]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        if path.name in HEADERLESS:
            reader: Iterator[dict[str, str]] = csv.DictReader(f, fieldnames=HEADERLESS[path.name])
        else:
            raw = csv.reader(f)
            header = [h.strip().lower().replace(" ", "_") for h in next(raw)]
            reader = (dict(zip(header, row, strict=False)) for row in raw)
        for row in reader:
            record = _record(row, mapping, path.name)
            if record is not None:
                yield record


# A tax lot number (BBL) starts with its borough's number; the 2020 file has some in place of
# the borough's name, and some community boards ("05 MANHATTAN").
BOROUGH_NUMBERS = {
    "1": "Manhattan",
    "2": "Bronx",
    "3": "Brooklyn",
    "4": "Queens",
    "5": "Staten Island",
}
BOROUGHS = {name.casefold() for name in BOROUGH_NUMBERS.values()}


def _borough(text: str) -> str:
    text = text.strip()
    if re.fullmatch(r"[1-5]\d{9}", text):
        return BOROUGH_NUMBERS[text[0]]
    text = re.sub(r"^\d+\s+", "", text)
    # Anything else there (Unspecified, a date from a shifted row) names no borough.
    return text if text.casefold() in BOROUGHS else ""


def _record(row: dict[str, str], mapping: Mapping, source: str) -> HistoricalRecord | None:
    created = _parse_time(row.get("created_date", ""))
    if created is None:
        return None
    closed = _parse_time(row.get("closed_date", ""))
    if closed is not None and closed < created:
        closed = None
    if closed is None and (row.get("status") or "").lower() == "closed":
        closed = _parse_time(row.get("resolution_action_updated_date", "")) or created
    note = (row.get("resolution_description") or "").strip()
    resolution = nyc.resolution_of(note)
    complaint, descriptor = row.get("complaint_type", ""), row.get("descriptor", "")
    address = (row.get("incident_address") or "").strip()
    if not address and row.get("intersection_street_1"):
        address = f"{row['intersection_street_1']} and {row.get('intersection_street_2', '')}"
    borough = _borough(row.get("borough") or "")
    if address and borough:
        address = f"{address}, {borough.title()}"
    return HistoricalRecord(
        service_code=mapping.service_code(complaint, descriptor),
        requested_at=created,
        external_id=row.get("unique_key", ""),
        description=" - ".join(p for p in (complaint, descriptor) if p),
        lat=_float(row.get("latitude")),
        long=_float(row.get("longitude")),
        address_string=address,
        zipcode=(row.get("incident_zip") or "").strip()[:5],
        closed_at=closed,
        resolution=resolution,
        resolution_note=note or "Closed.",
        channel=CHANNELS.get((row.get("open_data_channel_type") or "").upper(), Channel.IMPORT),
        # Kept for a record with no point (the 2020 file gives only the borough).
        districts={"borough": borough} if borough else {},
    )
