"""Geocoder speed and memory, on the demo city's addresses and on a generated 1,000,000-point city.

    .venv/bin/python bench/geocode.py [--points 1000000]

Builds AddressIndex straight from tuples (no database) and prints, for each data set: build
time, index memory (tracemalloc, Python and numpy allocations), forward geocodes per second for
clean addresses in one process, autocomplete p50/p99 and reverse p99.
"""

from __future__ import annotations

import argparse
import csv
import gc
import gzip
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from city311.geo.geocoding import AddressIndex, AddressRow, PlaceRow
from city311.geo.normalize import normalise_street

DATA = Path(__file__).resolve().parent.parent / "city311" / "demo" / "cities" / "nyc"
CITIES = ["Brooklyn", "Queens", "Manhattan", "Bronx", "Staten Island"]
TYPES = ["STREET", "AVENUE", "ROAD", "PLACE", "DRIVE", "BOULEVARD", "COURT", "LANE"]
ABBREVIATIONS = {
    "STREET": "St",
    "AVENUE": "Ave",
    "ROAD": "Rd",
    "PLACE": "Pl",
    "DRIVE": "Dr",
    "BOULEVARD": "Blvd",
    "COURT": "Ct",
    "LANE": "Ln",
}
SYLLABLES = [
    "ka",
    "lo",
    "mer",
    "den",
    "ash",
    "bro",
    "vin",
    "tal",
    "or",
    "sel",
    "wick",
    "ham",
    "ton",
]


def demo_rows() -> tuple[list[AddressRow], list[PlaceRow]]:
    """The demo city's address and place files as index rows."""
    addresses: list[AddressRow] = []
    with gzip.open(DATA / "addresses.csv.gz", "rt", newline="") as f:
        for r in csv.DictReader(f):
            addresses.append(
                (
                    r["ID"],
                    r["NUMBER"],
                    r["STREET"],
                    normalise_street(r["STREET"]),
                    r["CITY"],
                    r["POSTCODE"],
                    float(r["LAT"]),
                    float(r["LON"]),
                )
            )
    places: list[PlaceRow] = []
    with gzip.open(DATA / "places.csv.gz", "rt", newline="") as f:
        for r in csv.DictReader(f):
            places.append((r["NAME"], r["KIND"], r["ALIASES"], float(r["LAT"]), float(r["LONG"])))
    return addresses, places


def generated_rows(points: int, seed: int = 311) -> list[AddressRow]:
    """A city of `points` address points: streets of 1,000 numbers (both sides, 10 m apart),
    east-west streets and north-south avenues 100 m apart, spread over five cities."""
    rng = random.Random(seed)
    per_street = 1000
    streets = max(2, points // per_street)
    names = _street_names(streets, rng)
    rows: list[AddressRow] = []
    for s, (street, city, postcode_base) in enumerate(names):
        city_index = CITIES.index(city)
        lat0, long0 = 40.55 + 0.08 * city_index, -74.10 + 0.02 * city_index
        line = s // 2 % 200
        key = normalise_street(street)
        for i in range(per_street):
            number = str(i + 1)
            along = (i // 2) * 10.0
            side = 8.0 if i % 2 else -8.0
            if s % 2 == 0:  # east-west street
                lat = lat0 + (line * 100.0 + side) / 110_574
                long = long0 + along / 84_400
            else:  # north-south avenue
                lat = lat0 + along / 110_574
                long = long0 + (line * 100.0 + side) / 84_400
            postcode = str(postcode_base + i // 250)
            rows.append(
                (f"gen-{s}-{i}", number, street, key, city, postcode, round(lat, 6), round(long, 6))
            )
            if len(rows) >= points:
                return rows
    return rows


def _street_names(count: int, rng: random.Random) -> list[tuple[str, str, int]]:
    """Distinct (street as written, city, first ZIP) triples: numbered and invented names."""
    names: list[tuple[str, str, int]] = []
    seen: set[tuple[str, str]] = set()
    while len(names) < count:
        city = CITIES[len(names) % len(CITIES)]
        if rng.random() < 0.3:
            street = f"{rng.choice(['EAST', 'WEST'])} {rng.randint(1, 250)} {rng.choice(TYPES)}"
        else:
            word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).upper()
            street = f"{word} {rng.choice(TYPES)}"
        if (street, city) not in seen:
            seen.add((street, city))
            names.append((street, city, 10000 + 100 * CITIES.index(city) + rng.randint(0, 60)))
    return names


def clean_queries(rows: Sequence[AddressRow], count: int, rng: random.Random) -> list[str]:
    """Half "1382 DUMONT AVENUE, Brooklyn 11208", half "1382 Dumont Ave"."""
    queries = []
    for _ in range(count):
        _, number, street, _, city, postcode, _, _ = rng.choice(rows)
        if rng.random() < 0.5:
            queries.append(f"{number} {street}, {city} {postcode}")
        else:
            words = street.title().split()
            words[-1] = ABBREVIATIONS.get(words[-1].upper(), words[-1])
            queries.append(f"{number} {' '.join(words)}")
    return queries


def prefixes(rows: Sequence[AddressRow], count: int, rng: random.Random) -> list[str]:
    """What people have typed so far: "1382 dum", "dumont av", "dum"."""
    out = []
    for _ in range(count):
        _, number, street, _, _, _, _, _ = rng.choice(rows)
        cut = street.lower()[: rng.randint(3, len(street))]
        out.append(f"{number} {cut}" if rng.random() < 0.5 else cut)
    return out


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timings(call: Callable[[str], object], inputs: Sequence[str]) -> list[float]:
    out = []
    for text in inputs:
        start = time.perf_counter()
        call(text)
        out.append((time.perf_counter() - start) * 1000)
    return out


def run(label: str, rows: list[AddressRow], places: list[PlaceRow]) -> None:
    print(f"\n== {label}: {len(rows):,} address points, {len(places):,} places")
    gc.collect()
    start = time.perf_counter()
    index = AddressIndex.build(rows, places, state="NY")
    print(f"build time:                 {time.perf_counter() - start:8.2f} s")
    del index
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = AddressIndex.build(rows, places, state="NY")
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"index memory:               {(current - before) / 1e6:8.1f} MB")
    print(f"peak memory during build:   {(peak - before) / 1e6:8.1f} MB")

    rng = random.Random(7)
    queries = clean_queries(rows, 20_000, rng)
    found = 0
    start = time.perf_counter()
    for q in queries:
        candidates = index.geocode(q, limit=1)
        found += bool(candidates and candidates[0].match == "address")
    elapsed = time.perf_counter() - start
    print(f"forward geocodes/s (clean): {len(queries) / elapsed:8.0f}")
    print(f"  exact address found:      {100 * found / len(queries):8.1f} %")

    typed = prefixes(rows, 2_000, rng)
    auto = timings(lambda p: index.autocomplete(p, limit=8), typed)
    print(f"autocomplete p50:           {statistics.median(auto):8.2f} ms")
    print(f"autocomplete p99:           {percentile(auto, 0.99):8.2f} ms")

    south, north = min(r[6] for r in rows), max(r[6] for r in rows)
    west, east = min(r[7] for r in rows), max(r[7] for r in rows)
    points = [(rng.uniform(south, north), rng.uniform(west, east)) for _ in range(2_000)]
    rev = []
    for lat, long in points:
        start = time.perf_counter()
        index.reverse(lat, long)
        rev.append((time.perf_counter() - start) * 1000)
    print(f"reverse p50:                {statistics.median(rev):8.2f} ms")
    print(f"reverse p99:                {percentile(rev, 0.99):8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    addresses, places = demo_rows()
    run("demo city (nyc_addresses.csv.gz)", addresses, places)
    run("generated city", generated_rows(args.points), places)


if __name__ == "__main__":
    main()
