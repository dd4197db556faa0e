"""Where Open311 files a typed address: never silently far from the true place.

    .venv/bin/python bench/open311_places.py [--sample N]

Builds a fresh SQLite database (in a temporary folder) with the demo city (catalog, routing,
boundaries, places, corners) and posts `address_string`s to Open311 `POST requests.json`, the
way an app sends a place it did not geocode itself. Two measurements:

1. Held-out real NYC addresses, not in the address file: the NYC 311 records in
   ../shared/data/311_records/nyc whose address is not in the demo's address file (true
   point: the record's latitude and longitude), and one demo address in ten (chosen by a hash
   of its ID) left out of the imported file (true point: its own). Each is written "number
   street, borough" and "number street ZIP". Printed: how many Open311 refused with
   candidates, filed "location to verify", or filed as placed, and of those how many lie more
   than 50 m and 200 m from the true place: the silently wrong ones (goal: 0 over 200 m). The
   same addresses through the geocoder alone, taking its first answer as before, show what
   happened without the check. Then the same posts with the city set to accept such addresses
   ("verify"): nothing may be filed as placed more than 200 m away.
2. The full address file imported: a sample of its addresses written the ways people write
   them (bench/geocode_accuracy.py's forms); the share filed as placed within 50 m of the
   address point (goal: at least 98%).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import os
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="city311-places-"))
os.environ["DATABASE_URL"] = f"sqlite:///{TMP / 'db.sqlite3'}"
os.environ["CITY311_DATA_DIR"] = str(TMP / "data")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
os.environ.pop("REDIS_URL", None)

import logging  # noqa: E402

import django  # noqa: E402

django.setup()
# The refused posts and the notification queue log every request: the figures are the output.
logging.disable(logging.WARNING)

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from bench.geocode import demo_rows  # noqa: E402
from bench.geocode_accuracy import abbreviated, forms, metres  # noqa: E402
from city311.catalog.models import ServiceType  # noqa: E402
from city311.demo import loader  # noqa: E402
from city311.geo import geocoding  # noqa: E402
from city311.geo.geocoding import AddressRow  # noqa: E402
from city311.geo.imports import import_addresses  # noqa: E402
from city311.geo.normalize import normalise_number, normalise_street  # noqa: E402
from city311.open311.models import ApiKey  # noqa: E402
from city311.servicerequests.models import ServiceRequest  # noqa: E402

RECORDS = ROOT.parent / "shared" / "data" / "311_records" / "nyc"
if not RECORDS.is_dir():
    RECORDS = Path("/work/shared/data/311_records/nyc")
HEADER = ["LON", "LAT", "NUMBER", "STREET", "UNIT", "CITY", "POSTCODE", "ID"]
_HOUSE = re.compile(r"^(\d+(?:-\d+)?[A-Z]?)\s+(\S.*)$")


def held_out(row: AddressRow) -> bool:
    return int(hashlib.sha1(row[0].encode()).hexdigest()[:8], 16) % 10 == 0


def write_addresses(rows: list[AddressRow], path: Path) -> Path:
    with gzip.open(path, "wt", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for r in rows:
            out.writerow([r[7], r[6], r[1], r[2], "", r[4], r[5], r[0]])
    return path


def record_addresses(rows: list[AddressRow]) -> list[tuple[str, str, str, float, float]]:
    """(address, borough, zip, lat, long) of NYC records whose address is not in `rows`."""
    known = {(normalise_number(r[1]), normalise_street(r[2]), r[4].upper()) for r in rows}
    found, seen = [], set()
    for path in sorted(RECORDS.glob("*.csv.gz")):
        with gzip.open(path, "rt", newline="") as f:
            reader = csv.DictReader(f)
            columns = {c.lower().replace(" ", "_"): c for c in reader.fieldnames or []}
            need = ("incident_address", "borough", "latitude", "longitude")
            if not all(n in columns for n in need):
                continue
            zip_column = columns.get("incident_zip", "")
            for r in reader:
                address = " ".join(r[columns["incident_address"]].split()).upper()
                borough = r[columns["borough"]].strip().title()
                house = _HOUSE.match(address)
                try:
                    lat, long = float(r[columns["latitude"]]), float(r[columns["longitude"]])
                except ValueError:
                    continue
                if not house or borough in ("", "Unspecified") or (address, borough) in seen:
                    continue
                key = (normalise_number(house[1]), normalise_street(house[2]), borough.upper())
                if key in known:
                    continue
                seen.add((address, borough))
                zipcode = (r[zip_column] or "").strip()[:5] if zip_column else ""
                found.append((address, borough, zipcode, lat, long))
    return found


class Poster:
    def __init__(self) -> None:
        self.client = Client()
        self.key = ApiKey.issue("bench", rate_limit_per_minute=10**9)[1]
        self.code = next(
            t.service_code
            for t in ServiceType.objects.filter(active=True, location_required=True)
            .exclude(urgency__in=["emergency", "urgent"])
            .filter(contact_required=False)
            .order_by("service_code")
            if not t.attributes.filter(required=True).exists()
        )

    def post(self, text: str) -> tuple[str, ServiceRequest | None]:
        data = {"api_key": self.key, "service_code": self.code, "address_string": text}
        r = self.client.post("/open311/v2/requests.json", data)
        if r.status_code == 400:
            return "refused", None
        if r.status_code != 200:
            return f"status {r.status_code}", None
        sr = ServiceRequest.objects.get(tracking_number=r.json()[0]["service_request_id"])
        return ("to verify" if sr.location_to_verify else "placed"), sr


def held_out_run(poster: Poster, cases: list[tuple[str, float, float]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text, lat, long in cases:
        outcome, sr = poster.post(text)
        counts[outcome] += 1
        if sr is not None and outcome == "placed" and sr.lat is not None and sr.long is not None:
            away = metres(sr.lat, sr.long, lat, long)
            counts["placed > 50 m"] += away > 50
            counts["placed > 200 m"] += away > 200
        if sr is not None and outcome == "to verify" and sr.lat is not None and sr.long is not None:
            counts["to verify, point > 200 m"] += metres(sr.lat, sr.long, lat, long) > 200
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=300, help="file addresses for part 2")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    loader.load_pack(sections={"catalog", "calendar", "boundaries", "routing", "places"})
    loader.load_pack(sections={"corners"})
    rows, _places = demo_rows()
    kept = [r for r in rows if not held_out(r)]
    import_addresses(write_addresses(kept, TMP / "kept.csv.gz"))
    poster = Poster()

    records = record_addresses(rows)
    cases = []
    for address, borough, zipcode, lat, long in records:
        cases.append((f"{address.title()}, {borough}", lat, long))
        if zipcode:
            cases.append((f"{address.lower()} {zipcode}", lat, long))
    for r in rows:
        if held_out(r):
            cases.append((f"{r[1]} {abbreviated(r[2])}, {r[4]}", r[6], r[7]))
            cases.append((f"{r[1]} {r[2].lower()} {r[5]}", r[6], r[7]))
    print(
        f"Held out: {len(records)} record addresses not in the file and "
        f"{sum(held_out(r) for r in rows)} file addresses left out; {len(cases)} written forms."
    )
    before: Counter[str] = Counter()
    for text, lat, long in cases:
        found = geocoding.geocode(text, limit=1)
        if not found:
            before["not found"] += 1
            continue
        away = metres(found[0].lat, found[0].long, lat, long)
        before["filed"] += 1
        before["> 50 m"] += away > 50
        before["> 200 m"] += away > 200
    print(
        f"  geocoder's first answer, taken as it was: {before['filed']} filed, "
        f"{before['> 200 m']} more than 200 m away, {before['> 50 m']} more than 50 m"
    )
    for setting in ("refuse", "verify"):
        with override_settings(CITY311_UNPLACED_ADDRESSES=setting):
            counts = held_out_run(poster, cases)
        print(
            f"  Open311, unplaced_addresses={setting}: {counts['placed']} placed "
            f"({counts['placed > 200 m']} more than 200 m away: silently wrong; "
            f"{counts['placed > 50 m']} more than 50 m), {counts['to verify']} to verify "
            f"({counts['to verify, point > 200 m']} of their points more than 200 m away), "
            f"{counts['refused']} refused naming candidates"
            + "".join(f", {n} {k}" for k, n in counts.items() if k.startswith("status"))
        )

    import_addresses(write_addresses(rows, TMP / "all.csv.gz"))
    postcodes = sorted({r[5] for r in rows if r[5]})
    rng = random.Random(311)

    def wrong_zip(right: str, rng: random.Random) -> str:
        return rng.choice([p for p in postcodes if p != right])

    sample = random.Random(50).sample(rows, min(args.sample, len(rows)))
    within: Counter[str] = Counter()
    tried: Counter[str] = Counter()
    for name, form in forms(wrong_zip).items():
        for row in sample:
            text = form(row, rng)
            if text is None:
                continue
            outcome, sr = poster.post(text)
            tried[name] += 1
            if outcome == "placed" and sr is not None and sr.lat is not None:
                within[name] += metres(sr.lat, sr.long or 0.0, row[6], row[7]) <= 50
    print(f"Full address file: {len(sample)} addresses, each written the ways people write them:")
    for name in tried:
        print(f"  {name:36s} {100 * within[name] / tried[name]:6.1f} % placed within 50 m")
    total, good = sum(tried.values()), sum(within.values())
    print(f"  {'overall':36s} {100 * good / total:6.1f} % of {total}")


if __name__ == "__main__":
    main()
