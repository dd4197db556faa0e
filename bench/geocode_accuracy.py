"""Geocoder accuracy on real NYC addresses written the ways people write them.

    .venv/bin/python bench/geocode_accuracy.py

Takes the demo city's address points (city311/demo/cities/nyc/addresses.csv.gz), holds about 10%
out of the index (chosen by a hash of their ID), and writes every address in several forms:
lowercase, abbreviated ("Ave", "St", "W"), ordinals ("41st Avenue", "W 24th St"), with and
without the borough, with a wrong ZIP, with a unit, with a one-letter typo in a long street
name. A held-out address can only be found by interpolation. Prints, per form and overall, the
share whose best candidate lies within 50 m of the true point. Deterministic.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.geocode import demo_rows
from city311.geo.geocoding import AddressIndex, AddressRow
from city311.geo.normalize import STREET_TYPES, number_value

WITHIN_M = 50.0
TYPE_ABBREVIATIONS = {
    "AVENUE": "Ave",
    "STREET": "St",
    "ROAD": "Rd",
    "PLACE": "Pl",
    "DRIVE": "Dr",
    "BOULEVARD": "Blvd",
    "COURT": "Ct",
    "LANE": "Ln",
    "PARKWAY": "Pkwy",
    "TERRACE": "Ter",
    "EXPRESSWAY": "Expy",
    "HIGHWAY": "Hwy",
    "SQUARE": "Sq",
}
DIRECTION_ABBREVIATIONS = {"NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W"}
Form = Callable[[AddressRow, random.Random], str | None]


def held_out(row: AddressRow) -> bool:
    return int(hashlib.sha1(row[0].encode()).hexdigest()[:8], 16) % 10 == 0


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def abbreviated(street: str) -> str:
    words = street.split()
    words = [DIRECTION_ABBREVIATIONS.get(w, w) for w in words[:1]] + words[1:]
    words[-1] = TYPE_ABBREVIATIONS.get(words[-1], words[-1])
    return " ".join(w if len(w) <= 2 else w.title() for w in words)


def with_ordinals(street: str) -> str | None:
    if not re.search(r"\b\d+\b", street):
        return None
    return re.sub(r"\b(\d+)\b", lambda m: ordinal(int(m.group(1))), abbreviated(street))


def with_typo(street: str, rng: random.Random) -> str | None:
    """One letter of the street's longest name word (6+ letters) replaced."""
    words = street.split()
    names = [w for w in words if w.isalpha() and len(w) >= 6 and w not in STREET_TYPES]
    if not names:
        return None
    word = max(names, key=len)
    i = rng.randrange(1, len(word) - 1)
    letter = rng.choice([c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c != word[i]])
    return street.replace(word, word[:i] + letter + word[i + 1 :], 1).lower()


def forms(wrong_zip: Callable[[str, random.Random], str]) -> dict[str, Form]:
    def street_form(change: Callable[[str], str | None], city: bool) -> Form:
        def form(row: AddressRow, rng: random.Random) -> str | None:
            street = change(row[2])
            if street is None:
                return None
            return f"{row[1]} {street}, {row[4]}" if city else f"{row[1]} {street}"

        return form

    return {
        "as in the file, with ZIP": lambda r, _: f"{r[1]} {r[2]}, {r[4]}, NY {r[5]}",
        "lowercase, borough": street_form(str.lower, True),
        "lowercase, no borough": street_form(str.lower, False),
        "abbreviated, borough": street_form(abbreviated, True),
        "abbreviated, no borough": street_form(abbreviated, False),
        "ordinals (numbered streets)": street_form(with_ordinals, True),
        "wrong ZIP, borough": lambda r, rng: (
            f"{r[1]} {abbreviated(r[2])}, {r[4]} {wrong_zip(r[5], rng)}"
        ),
        "wrong ZIP, no borough": lambda r, rng: (
            f"{r[1]} {abbreviated(r[2])} {wrong_zip(r[5], rng)}"
        ),
        "unit": lambda r, _: f"{r[1]} {abbreviated(r[2])} Apt 3, {r[4]}",
        "typo in a long street name": lambda r, rng: (
            None if (t := with_typo(r[2], rng)) is None else f"{r[1]} {t}, {r[4]}"
        ),
    }


def between_known(row: AddressRow, kept: list[AddressRow]) -> bool:
    """Whether the index has numbers below and above this one on the same street and city."""
    value = number_value(row[1])
    same = [number_value(r[1]) for r in kept if r[2] == row[2] and r[4] == row[4]]
    known = [v for v in same if v is not None]
    return value is not None and any(v < value for v in known) and any(v > value for v in known)


def metres(lat1: float, long1: float, lat2: float, long2: float) -> float:
    dy = (lat1 - lat2) * 110_574
    dx = (long1 - long2) * 111_320 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


def main() -> None:
    rows, places = demo_rows()
    kept = [r for r in rows if not held_out(r)]
    out = [r for r in rows if held_out(r)]
    index = AddressIndex.build(kept, places, state="NY")
    postcodes = sorted({r[5] for r in rows if r[5]})

    def wrong_zip(right: str, rng: random.Random) -> str:
        return rng.choice([p for p in postcodes if p != right])

    results: dict[str, list[bool]] = defaultdict(list)
    misses: dict[str, list[str]] = defaultdict(list)
    rng = random.Random(311)
    for name, form in forms(wrong_zip).items():
        for row in kept:
            text = form(row, rng)
            if text is None:
                continue
            found = index.geocode(text, limit=1)
            ok = bool(found) and metres(found[0].lat, found[0].long, row[6], row[7]) <= WITHIN_M
            results[name].append(ok)
            if not ok:
                misses[name].append(text)
    interpolated = 0
    for row in out:
        text = f"{row[1]} {abbreviated(row[2])}, {row[4]}"
        found = index.geocode(text, limit=1)
        ok = bool(found) and metres(found[0].lat, found[0].long, row[6], row[7]) <= WITHIN_M
        interpolated += bool(found) and found[0].match == "interpolated"
        results["held out of the index"].append(ok)
        if between_known(row, kept):
            results["held out, between indexed numbers"].append(ok)

    print(f"{len(rows)} addresses, {len(kept)} indexed, {len(out)} held out; within {WITHIN_M} m:")
    for name, oks in results.items():
        print(f"  {name:36s} {100 * sum(oks) / len(oks):6.1f} %  of {len(oks)}")
    indexed = [ok for name, oks in results.items() if not name.startswith("held") for ok in oks]
    everything = [ok for name, oks in results.items() if "between" not in name for ok in oks]
    print(f"  {'overall, indexed addresses':36s} {100 * sum(indexed) / len(indexed):6.1f} %")
    print(f"  {'overall, with held out':36s} {100 * sum(everything) / len(everything):6.1f} %")
    print(f"held out placed by interpolation: {interpolated} of {len(out)}")
    if "-v" in sys.argv:
        for name, texts in misses.items():
            print(name, texts[:15])


if __name__ == "__main__":
    main()
