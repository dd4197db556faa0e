"""Offline geocoding over the city's address points and named places.

Three questions, answered from an in-memory index and never over the network:

- `geocode(text)`: where is "1382 Dumont Av, Brooklyn NY 11208", "Dumont and Van Siclen",
  "corner of 5th ave & w 24th st", "Chandler Park"? Ranked candidates, best first.
- `reverse(lat, long)`: which address point is nearest?
- `autocomplete(prefix)`: what might a person typing "1382 dum" mean?

Each process builds its own `AddressIndex` from the AddressPoint and Place tables and rebuilds
it when the "addresses" or "places" GeoDataset version changes, checked at most every
`settings.CITY311_GEO_RECHECK_SECONDS` seconds (default 10).

The index keeps its rows in numpy arrays sorted by (street, house number), so an exact
address is a dictionary lookup plus a binary search, and 1,000,000 points take well under
200 MB. A "street" is a street key within one city: Brooklyn's 5 AVENUE and Manhattan's are two
streets, so house numbers are only compared, and interpolated, within one of them.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
from array import array
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from string import capwords
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from city311.geo.normalize import (
    DIRECTIONALS,
    STREET_TYPES,
    normalise_number,
    normalise_street,
    number_value,
)
from city311.lib.distance import (
    METRES_PER_DEG_LAT,
    METRES_PER_DEG_LONG_EQUATOR,
    degrees_around,
    fast_metres,
)

if TYPE_CHECKING:
    from city311.geo.datasets import VersionedCache

logger = logging.getLogger(__name__)

# (source_id, number, street, street_key, city, postcode, lat, long); an empty street_key is
# computed from street.
AddressRow = tuple[str, str, str, str, str, str, float, float]
# (name, kind, aliases comma-separated, lat, long)
PlaceRow = tuple[str, str, str, float, float]
# (street1, street2, key1, key2, city, lat, long): a known corner, keys normalised and sorted.
CrossingRow = tuple[str, str, str, str, str, float, float]

ADDRESS = "address"
INTERPOLATED = "interpolated"
INTERSECTION = "intersection"
PLACE = "place"
STREET = "street"


@dataclass(frozen=True)
class GeoRules:
    """How the city's addresses are written: the city's data (its pack's `geocoder` section,
    `city311.cities`), never code.

    `states`: the state codes an address may end with (the first is shown in addresses);
    `state_names`: the same written out; `aliases`: (alias, part of the city as in the address
    file's CITY column, soft), a soft alias only hinting (a name that is also a state's);
    `outside`: places outside the city people write as an address's place.
    """

    states: tuple[str, ...] = ()
    state_names: tuple[str, ...] = ()
    aliases: tuple[tuple[str, str, bool], ...] = ()
    outside: tuple[str, ...] = ()


INTERSECTION_MAX_M = 200.0
INTERPOLATION_MAX_M = 2000.0
# Grid cell for reverse lookups: about 170 m north-south, 125 m east-west at 40°N.
CELL_DEG = 0.0015
# Up to this many rows a reverse lookup measures every one (about 1 ms); above, grid rings.
BRUTE_FORCE_ROWS = 50_000
MAX_RINGS = 8

_DIRECTION_WORDS = frozenset(DIRECTIONALS.values())
_COUNTRY = r"USA|US|U S A|U S|UNITED STATES(?: OF AMERICA)?"
_ZIP = re.compile(r"(?<![\d-])(\d{5})(?:-\d{4})?(?![\d-])")
_UNIT = re.compile(
    r"(?:\b(?:APT|APARTMENT|UNIT|SUITE|STE|FL|FLR|FLOOR|RM|ROOM|BLDG|BUILDING|DEPT)\b|#)"
    r"\s*#?\s*[A-Z0-9]+(?:-[A-Z0-9]+)?\b"
    r"|\b\d+(?:ST|ND|RD|TH)\s+(?:FL|FLR|FLOOR)\b|\b(?:BSMT|BASEMENT|PENTHOUSE)\b"
)
_LEAD = re.compile(
    r"^(?:(?:AT|ON|NEAR|BY)\s+)?(?:THE\s+)?(?:CORNER|INTERSECTION|JUNCTION)\s+(?:OF\s+)?"
    r"|^(?:NEAR|IN FRONT OF|OUTSIDE(?: OF)?|ACROSS FROM|OPPOSITE)\s+"
)
_JOIN = re.compile(r"\s+(?:AND|AT)\s+|\s*(?:&|@|\+|(?<!\d)/|/(?!\d))\s*")
_HOUSE = re.compile(r"^(\d+(?:-\d+)?[A-Z]?)\s+(\S.*)$")
_QUEENS_SPACES = re.compile(r"^(\d+)\s*-\s*(\d+)\b")
_NOISE = re.compile(r"[^0-9A-Z&@/#+,\- ]+")
_DIGITS = re.compile(r"\d+")
_NAME_NOISE = re.compile(r"[^0-9A-Z]+")
MAX_INPUT = 200


@dataclass(slots=True)
class Candidate:
    """One answer: a point, how it was found (`match`) and how sure we are (0..1).

    `match` is "address" (the exact house number is a known point, `address_id` is its
    source_id), "interpolated" (placed between two known numbers on the same street and
    side), "intersection", "place" or "street" (the street is known but the number could not
    be placed: the point is the street's nearest-numbered or middle point).
    """

    lat: float
    long: float
    address: str
    confidence: float
    match: str
    address_id: str = ""
    city: str = ""
    postcode: str = ""
    distance_m: float | None = None
    # How sure the street (its name and part of the city) is the one written, apart from the
    # number: a misspelt name or another borough's street lowers it.
    street_score: float = 1.0


@dataclass(slots=True)
class Query:
    """A location as parsed from text: `streets` has one street, or two for an intersection."""

    number: str
    streets: list[str]
    city: str
    postcode: str
    text: str


class StringColumn:
    """Many short strings in one str plus an offsets array: a few bytes each instead of the
    fifty-odd a Python str object costs."""

    def __init__(self, values: list[str]) -> None:
        self.blob = "".join(values)
        lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
        self.offsets = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.offsets[1:])

    def __getitem__(self, i: int) -> str:
        return self.blob[int(self.offsets[i]) : int(self.offsets[i + 1])]


def _bare(key: str) -> str:
    """A street key without its type: "VAN SICLEN AVENUE" -> "VAN SICLEN"."""
    words = key.split()
    return " ".join(words[:-1]) if len(words) > 1 and words[-1] in STREET_TYPES else key


def _label(street: str) -> str:
    """The display form of a street as written: "WEST  187 STREET" -> "West 187 Street"."""
    return capwords(" ".join(street.split()).lower())


def _name_key(name: str) -> str:
    """How a place name is compared: uppercase words, no punctuation, no leading "THE"."""
    words = _NAME_NOISE.sub(" ", name.upper().replace("'", "").replace(".", "")).split()
    if words and words[0] == "THE":
        words = words[1:]
    return " ".join(words)


def _core(key: str) -> str:
    """A street key without its type and directional words: the part typos happen in
    ("DUMONT AVENUE" -> "DUMONT"); the key itself when nothing else is left."""
    words = [w for w in key.split() if w not in STREET_TYPES and w not in _DIRECTION_WORDS]
    return " ".join(words) or key


def _compatibility(query_key: str, key: str) -> float:
    """How well `key` can stand for what was typed when only their cores agree: 0 when the
    directionals conflict (EAST 58 is not WEST 58), less when the street type differs."""
    query_words, words = set(query_key.split()), set(key.split())
    query_dirs = query_words & _DIRECTION_WORDS
    if query_dirs and query_dirs != words & _DIRECTION_WORDS:
        return 0.0
    query_types = query_words & STREET_TYPES
    if query_types and query_types != words & STREET_TYPES:
        return 0.85
    return 1.0


class AddressIndex:
    """The in-memory geocoding index; build it with `AddressIndex.build(...)`.

    Rows are sorted by (street id, house number value); street ids are sorted by
    (street key, city), so `street_start[s]:street_start[s + 1]` are street s's rows.
    """

    state: str
    rules: GeoRules
    full_state: re.Pattern[str]
    outside: frozenset[str]
    # Streets.
    street_key: list[str]
    street_city: list[str]
    street_label: list[str]
    street_start: npt.NDArray[np.int64]
    key_streets: dict[str, list[int]]
    key_list: list[str]
    core_keys: dict[str, list[str]]
    cores: list[str]
    # Street-name word suffixes ("DUMONT AVENUE", "AVENUE") for autocomplete, sorted.
    suffixes: list[str]
    suffix_street: list[int]
    # Rows.
    lat: npt.NDArray[np.float64]
    long: npt.NDArray[np.float64]
    value: npt.NDArray[np.float64]
    street: npt.NDArray[np.int32]
    number: npt.NDArray[np.int32]
    numbers: list[str]
    postcode: npt.NDArray[np.int32]
    postcodes: list[str]
    postcode_code: dict[str, int]
    source_id: StringColumn
    # Cities and ZIPs.
    city_names: dict[str, tuple[str, bool]]
    postcode_cities: dict[str, set[str]]
    # Reverse-lookup grid: row numbers sorted by cell, and each occupied cell's first row.
    grid_rows: npt.NDArray[np.int32]
    grid_cells: npt.NDArray[np.int64]
    grid_start: npt.NDArray[np.int64]
    # Far from every address: rows by latitude, for a band search.
    lat_order: npt.NDArray[np.int32]
    lat_sorted: npt.NDArray[np.float64]
    # Places.
    place_name: list[str]
    place_lat: list[float]
    place_long: list[float]
    place_keys: dict[str, int]
    place_key_list: list[str]
    place_key_list_sorted: list[str]
    place_suffixes: list[tuple[str, int]]

    @classmethod
    def build(
        cls,
        address_rows: Iterable[AddressRow],
        place_rows: Iterable[PlaceRow],
        *,
        state: str = "",
        crossing_rows: Iterable[CrossingRow] = (),
        rules: GeoRules | None = None,
    ) -> AddressIndex:
        """Build an index from plain tuples (see AddressRow, PlaceRow and CrossingRow); rows
        without a usable street are skipped. `rules` are the city's (`state` alone is short
        for rules with that one state): its first state is appended to display addresses."""
        index = cls()
        index.rules = rules or GeoRules(states=(state,) if state else ())
        index.state = index.rules.states[0] if index.rules.states else ""
        index._compile_rules()
        index._load_addresses(address_rows)
        index._load_places(place_rows)
        index._load_crossings(crossing_rows)
        return index

    def _load_crossings(self, rows: Iterable[CrossingRow]) -> None:
        """Known corners, looked up by their two streets with or without the street type."""
        self.crossings: dict[tuple[str, str], list[tuple[float, float, str, str]]] = {}
        self.crossing_forms: dict[str, set[str]] = {}
        for street1, street2, key1, key2, city, lat, long in rows:
            label = f"{_label(street1)} & {_label(street2)}"
            self.crossings.setdefault((key1, key2), []).append((lat, long, label, city))
            for key in (key1, key2):
                self.crossing_forms.setdefault(key, set()).add(key)
                self.crossing_forms.setdefault(_bare(key), set()).add(key)
        self.crossing_form_list = sorted(self.crossing_forms)

    # Building.

    def _load_addresses(self, rows: Iterable[AddressRow]) -> None:
        streets: dict[tuple[str, str], int] = {}
        labels: list[str] = []
        raw_numbers: dict[str, int] = {}
        number_codes: dict[str, int] = {}
        postcode_codes: dict[str, int] = {}
        row_street, row_number, row_postcode = array("i"), array("i"), array("i")
        lats, longs = array("d"), array("d")
        source_ids: list[str] = []
        for source_id, number, street, key, city, postcode, lat, long in rows:
            key = key or normalise_street(street)
            code = raw_numbers.get(number)
            if code is None:
                code = number_codes.setdefault(normalise_number(number), len(number_codes))
                raw_numbers[number] = code
            if not key or not lat or not long:
                continue
            street_id = streets.setdefault((key, city or ""), len(streets))
            if street_id == len(labels):
                labels.append(_label(street))
            row_street.append(street_id)
            row_number.append(code)
            row_postcode.append(postcode_codes.setdefault(postcode or "", len(postcode_codes)))
            lats.append(float(lat))
            longs.append(float(long))
            source_ids.append(source_id or "")
        self.numbers = list(number_codes)
        self.postcodes = list(postcode_codes)
        self.postcode_code = postcode_codes
        order = self._sort_rows(streets, labels, row_street, row_number, row_postcode, lats, longs)
        self.source_id = StringColumn([source_ids[i] for i in order.tolist()])
        self._index_streets()
        self._index_grid()

    def _sort_rows(
        self,
        streets: dict[tuple[str, str], int],
        labels: list[str],
        row_street: array[int],
        row_number: array[int],
        row_postcode: array[int],
        lats: array[float],
        longs: array[float],
    ) -> npt.NDArray[np.intp]:
        """Sort the rows by (street, number value) and return the order applied."""
        by_name = sorted(streets)
        renumber = np.empty(len(by_name), dtype=np.int32)
        for new, name in enumerate(by_name):
            renumber[streets[name]] = new
        self.street_key = [key for key, _ in by_name]
        self.street_city = [city for _, city in by_name]
        self.street_label = [labels[streets[s]] for s in by_name]
        number_values = np.array(
            [math.nan if (v := number_value(n)) is None else v for n in self.numbers],
            dtype=np.float64,
        )
        street = renumber[np.frombuffer(row_street, dtype=np.int32)]
        number = np.frombuffer(row_number, dtype=np.int32)
        value = number_values[number] if len(number) else np.zeros(0)
        # NaN (numbers that are not numbers) sorts last within each street.
        order = np.lexsort((number, value, street))
        self.street = street[order]
        self.number = number[order]
        self.value = value[order]
        self.postcode = np.frombuffer(row_postcode, dtype=np.int32)[order]
        self.lat = np.frombuffer(lats, dtype=np.float64)[order]
        self.long = np.frombuffer(longs, dtype=np.float64)[order]
        self.street_start = np.searchsorted(
            self.street, np.arange(len(by_name) + 1, dtype=np.int32)
        ).astype(np.int64)
        return order

    def _index_streets(self) -> None:
        self.key_streets = defaultdict(list)
        core_keys: dict[str, set[str]] = defaultdict(set)
        suffixes: list[tuple[str, int]] = []
        for street_id, key in enumerate(self.street_key):
            self.key_streets[key].append(street_id)
            core_keys[_core(key)].add(key)
            words = key.split()
            # From every word on, so "siclen" finds VAN SICLEN AVENUE; not from a bare type
            # word, which would make "ave" list every avenue.
            suffixes.extend(
                (" ".join(words[i:]), street_id)
                for i in range(len(words))
                if i == 0 or words[i] not in STREET_TYPES
            )
        self.key_streets = dict(self.key_streets)
        self.key_list = list(self.key_streets)
        self.core_keys = {core: sorted(keys) for core, keys in core_keys.items()}
        self.cores = sorted(self.core_keys)
        suffixes.sort()
        self.suffixes = [s for s, _ in suffixes]
        self.suffix_street = [i for _, i in suffixes]
        cities = set(self.street_city) - {""}
        self.city_names = {city.upper(): (city, False) for city in cities}
        for alias, city, soft in self.rules.aliases:
            if city in cities and _words(alias) not in self.city_names:
                self.city_names[_words(alias)] = (city, soft)
        pairs = set(zip(self.postcode.tolist(), self.street.tolist(), strict=True))
        self.postcode_cities = defaultdict(set)
        for postcode, street_id in pairs:
            if self.street_city[street_id]:
                self.postcode_cities[self.postcodes[postcode]].add(self.street_city[street_id])

    def _compile_rules(self) -> None:
        states = [_words(s) for s in (*self.rules.states, *self.rules.state_names) if _words(s)]
        # "N Y" for "N.Y.": dots are spaces by then.
        states += [" ".join(s) for s in self.rules.states if len(s) == 2]
        names = "|".join([_COUNTRY, *sorted({re.escape(s) for s in states}, key=len, reverse=True)])
        self.full_state = re.compile(rf"(?:[\s,]+(?:{names}))+[\s,]*$")
        self.outside = frozenset(_words(name) for name in self.rules.outside if _words(name))

    def is_outside(self, text: str) -> bool:
        """Whether the place written after the street ("..., Hoboken NJ", "... Yonkers") is
        one the city names as outside itself."""
        if not self.outside:
            return False
        text = _NOISE.sub(" ", str(text)[:MAX_INPUT].upper().replace(".", " ").replace(";", ","))
        text = _ZIP.sub(" ", text)
        text = self.full_state.sub("", " " + text).strip(" ,")
        head, _, place = text.partition(",")
        words = (place or head).split()
        # The end of the text (a place after the street); after a comma, any of it.
        starts = range(len(words)) if place else range(max(1, len(words) - 3), len(words))
        return any(" ".join(words[i : i + n]) in self.outside for i in starts for n in (1, 2, 3))

    def _index_grid(self) -> None:
        self.lat_order = np.argsort(self.lat, kind="stable").astype(np.int32)
        self.lat_sorted = self.lat[self.lat_order]
        cells = self._cell_codes(self.lat, self.long)
        self.grid_rows = np.argsort(cells, kind="stable").astype(np.int32)
        self.grid_cells, self.grid_start = np.unique(cells[self.grid_rows], return_index=True)
        self.grid_start = np.append(self.grid_start, len(cells)).astype(np.int64)

    @staticmethod
    def _cell_codes(
        lat: npt.NDArray[np.float64], long: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.int64]:
        row = np.floor(lat / CELL_DEG).astype(np.int64)
        col = np.floor(long / CELL_DEG).astype(np.int64)
        return row * (1 << 20) + col + (1 << 19)

    def _load_places(self, rows: Iterable[PlaceRow]) -> None:
        self.place_name, self.place_lat, self.place_long = [], [], []
        self.place_keys = {}
        suffixes: list[tuple[str, int]] = []
        for name, _kind, aliases, lat, long in rows:
            place = len(self.place_name)
            self.place_name.append(name)
            self.place_lat.append(float(lat))
            self.place_long.append(float(long))
            for alias in [name, *aliases.split(",")]:
                key = _name_key(alias)
                if key:
                    self.place_keys.setdefault(key, place)
                    words = key.split()
                    suffixes.extend((" ".join(words[i:]), place) for i in range(len(words)))
        self.place_key_list = list(self.place_keys)
        self.place_key_list_sorted = sorted(self.place_keys)
        self.place_suffixes = sorted(suffixes)

    # Parsing.

    def parse(self, text: str) -> Query | None:
        """Split free text into house number, street(s), city and ZIP; None when there is
        nothing to look for."""
        text = _NOISE.sub(" ", str(text)[:MAX_INPUT].upper().replace(".", " ").replace(";", ","))
        text = " ".join(text.split())
        text = _LEAD.sub("", text)
        postcode = ""
        for match in _ZIP.finditer(text):
            if match.start() > 0:
                postcode = match.group(1)
        if postcode:
            text = _ZIP.sub(lambda m: " " if m.start() > 0 else m.group(0), text)
        text = _UNIT.sub(lambda m: " " if m.start() > 0 else m.group(0), text)
        text = self.full_state.sub("", " " + text).strip(" ,")
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            return None
        head, city = parts[0], " ".join(parts[1:])
        if not city:
            head, city = self._peel_city(head)
        streets = [s.strip() for s in _JOIN.split(head, maxsplit=1) if s.strip()]
        number = ""
        if len(streets) == 1:
            number, streets[0] = _split_number(streets[0])
        else:
            streets = [_split_number(s)[1] for s in streets]
        if not any(_DIGITS.sub("", s).strip(" -#&@/+") for s in streets):
            return None
        return Query(number, streets, city, postcode, " ".join(parts))

    def _peel_city(self, head: str) -> tuple[str, str]:
        """Take a known city name off the end of "1382 DUMONT AVENUE BROOKLYN"."""
        words = head.split()
        for n in (3, 2, 1):
            if len(words) > n and " ".join(words[-n:]) in self.city_names:
                return " ".join(words[:-n]), " ".join(words[-n:])
        return head, ""

    def _city_hint(self, query: Query) -> tuple[set[str], bool]:
        """The cities the query names (or its ZIP implies) and whether the hint is soft."""
        words = query.city.split()
        found: list[tuple[str, bool]] = []
        i = 0
        while i < len(words):
            for n in (3, 2, 1):
                name = " ".join(words[i : i + n])
                if len(words[i : i + n]) == n and name in self.city_names:
                    found.append(self.city_names[name])
                    i += n - 1
                    break
            i += 1
        strong = {city for city, soft in found if not soft}
        if strong:
            return strong, False
        if query.postcode and query.postcode in self.postcode_cities:
            return set(self.postcode_cities[query.postcode]), False
        if found:
            return {city for city, _ in found}, True
        return set(), False

    # Streets.

    def street_keys(self, text: str, *, similar: bool = False) -> list[tuple[str, float]]:
        """The known street keys `text` may mean, with how sure (0..1), best first. An exact
        key is the only answer unless `similar`, which adds the keys it could be a
        misspelling of."""
        key = normalise_street(text)
        if not key:
            return []
        exact = [(key, 1.0)] if key in self.key_streets else []
        if exact and not similar:
            return exact
        core = _core(key)
        found = [(k, 0.9 * _compatibility(key, k)) for k in self.core_keys.get(core, [])]
        found = [(k, s) for k, s in found if s > 0 and k != key]
        if similar or not found:
            found += [(k, s) for k, s in self._fuzzy_keys(key, core) if k != key]
        if not exact and not found:
            found = self._shorter_keys(key)
        best: dict[str, float] = {}
        for k, score in exact + found:
            best[k] = max(best.get(k, 0.0), score)
        return sorted(best.items(), key=lambda f: -f[1])

    def _fuzzy_keys(self, key: str, core: str) -> list[tuple[str, float]]:
        """Keys one or two typos from this one, compared by core ("DUMNOT" ~ "DUMONT") and
        then whole ("DUMONT AVNEUE" ~ "DUMONT AVENUE"), with the same numbers: a typo never
        turns WEST 24 STREET into WEST 25 STREET."""
        digits = _DIGITS.findall(key)
        found: list[tuple[str, float]] = []
        if len(core) >= 5:
            for other, score, _ in process.extract(
                core, self.cores, scorer=fuzz.ratio, limit=5, score_cutoff=80
            ):
                for k in self.core_keys[other]:
                    found.append((k, 0.95 * _compatibility(key, k) * score / 100))
        if not found and len(key) >= 8:
            for k, score, _ in process.extract(
                key, self.key_list, scorer=fuzz.ratio, limit=5, score_cutoff=85
            ):
                found.append((k, 0.9 * score / 100))
        found = [(k, s) for k, s in found if s > 0 and _DIGITS.findall(k) == digits]
        return sorted(found, key=lambda f: -f[1])

    def _shorter_keys(self, key: str) -> list[tuple[str, float]]:
        """The longest known street at the start of the key, the rest taken for a place
        name we do not know: DUMONT AVENUE in "DUMONT AVENUE CYPRESS HILLS"."""
        words = key.split()
        for n in range(len(words) - 1, 0, -1):
            prefix = " ".join(words[:n])
            if prefix in self.key_streets and not prefix.isdigit():
                return [(prefix, 0.85)]
        return []

    def _streets(
        self, text: str, hint: tuple[set[str], bool], *, similar: bool = False
    ) -> list[tuple[int, float]]:
        """Street ids `text` may mean, scored by name and city; best first."""
        cities, soft = hint
        found = []
        for key, score in self.street_keys(text, similar=similar):
            for street_id in self.key_streets[key]:
                city = self.street_city[street_id]
                city_factor = 1.0 if not cities or city in cities else (0.9 if soft else 0.6)
                found.append((street_id, score * city_factor))
        return sorted(found, key=lambda f: -f[1])

    # Forward geocoding.

    def geocode(self, text: str, *, limit: int = 5) -> list[Candidate]:
        """Candidates for free text, best first; [] when nothing plausible. Never raises on
        any string."""
        try:
            query = self.parse(text)
            if query is None or self.is_outside(text):
                return []
            if len(query.streets) == 2:
                found = self._known_crossings(query) or self._intersections(query)
            else:
                found = self._addresses(query)
            if not query.number and not any(c.confidence >= 0.9 for c in found):
                found += self._places(query)
            return _best(found, limit)
        except Exception:
            # A geocoder that throws on odd text would take the intake form down with it.
            logger.exception("geocoding %r failed", str(text)[:MAX_INPUT])
            return []

    def _addresses(self, query: Query) -> list[Candidate]:
        hint = self._city_hint(query)
        streets = self._streets(query.streets[0], hint)[:6]
        found = [self._scored(street_id, score, query) for street_id, score in streets]
        if query.number and not any(c.match == ADDRESS for c in found):
            # A misspelling can also be another street's right spelling (the records have
            # both MALCOM X and MALCOLM X BOULEVARD): look for the exact number on similar
            # streets too.
            tried = {street_id for street_id, _ in streets}
            for street_id, score in self._streets(query.streets[0], hint, similar=True)[:6]:
                if street_id not in tried:
                    candidate = self._scored(street_id, score, query)
                    if candidate.match == ADDRESS:
                        found.append(candidate)
        return found

    def _scored(self, street_id: int, score: float, query: Query) -> Candidate:
        candidate = self._on_street(street_id, query.number, query.postcode)
        candidate.confidence = round(min(1.0, candidate.confidence * score), 3)
        candidate.street_score = round(self._street_sureness(street_id, score, query), 3)
        return candidate

    def _street_sureness(self, street_id: int, score: float, query: Query) -> float:
        """How sure the street is the one meant. Another part of the city than the one the
        text names lowers it; one only its ZIP implies does not (a wrong ZIP is common, a
        wrong borough name is not)."""
        cities, soft = self._city_hint(query)
        named = any(name in self.city_names for name in query.city.split()) or (
            query.city in self.city_names
        )
        if named or not cities or self.street_city[street_id] in cities:
            return score
        return min(1.0, score / (0.9 if soft else 0.6))

    def _on_street(self, street_id: int, number: str, postcode: str) -> Candidate:
        """The best point for `number` on one street: exact, interpolated or street-level.
        Confidence here is before the street-name and city factors."""
        number = normalise_number(number) if number else ""
        if number:
            rows = self._rows_for_number(street_id, number)
            if rows:
                row = next((r for r in rows if self._postcode(r) == postcode), rows[0])
                return self._row_candidate(row, _zip_factor(self._postcode(row), postcode))
            placed = self._interpolate(street_id, number, postcode)
            if placed:
                return placed
        return self._street_candidate(street_id, number, postcode)

    def _rows_for_number(self, street_id: int, number: str) -> list[int]:
        start, end = int(self.street_start[street_id]), int(self.street_start[street_id + 1])
        value = number_value(number)
        if value is None:
            # Numbers that are not numbers sort last; there are few of them.
            candidates: Iterable[int] = range(start, end)
        else:
            values = self.value[start:end]
            lo = int(np.searchsorted(values, value, "left"))
            hi = int(np.searchsorted(values, value, "right"))
            candidates = range(start + lo, start + hi)
        return [i for i in candidates if self.numbers[self.number[i]] == number]

    def _interpolate(self, street_id: int, number: str, postcode: str) -> Candidate | None:
        """Place `number` between the nearest known numbers below and above it on the same
        side of the street (same parity), when they are close enough to trust a straight
        line between them."""
        value = number_value(number)
        if value is None:
            return None
        start, end = int(self.street_start[street_id]), int(self.street_start[street_id + 1])
        at = start + int(np.searchsorted(self.value[start:end], value))
        hyphen = "-" in number
        down, up = range(at - 1, max(start, at - 64) - 1, -1), range(at, min(end, at + 64))
        below = self._neighbour(down, value, hyphen, same_side=True)
        above = self._neighbour(up, value, hyphen, same_side=True)
        # Failing that, a number across the street: tens of metres off, not hundreds.
        below = self._neighbour(down, value, hyphen, same_side=False) if below is None else below
        above = self._neighbour(up, value, hyphen, same_side=False) if above is None else above
        if below is None or above is None:
            return None
        gap = fast_metres(
            float(self.lat[below]),
            float(self.long[below]),
            float(self.lat[above]),
            float(self.long[above]),
        )
        if gap > INTERPOLATION_MAX_M:
            return None
        low, high = float(self.value[below]), float(self.value[above])
        share = (value - low) / (high - low)
        lat = float(self.lat[below] + share * (self.lat[above] - self.lat[below]))
        long = float(self.long[below] + share * (self.long[above] - self.long[below]))
        nearer = below if share <= 0.5 else above
        found = self._postcode(nearer)
        confidence = 0.85 * (1 - gap / (2 * INTERPOLATION_MAX_M)) * _zip_factor(found, postcode)
        return Candidate(
            lat=lat,
            long=long,
            address=self._display(f"{number} {self.street_label[street_id]}", street_id, found),
            confidence=confidence,
            match=INTERPOLATED,
            city=self.street_city[street_id],
            postcode=found,
        )

    def _neighbour(self, rows: range, value: float, hyphen: bool, *, same_side: bool) -> int | None:
        """The first row in `rows` written the same way as `value` (Queens "100-26" numbers
        are not comparable with plain ones) and, if `same_side`, of the same parity."""
        side = int(value) % 2
        for i in rows:
            other = float(self.value[i])
            if math.isnan(other) or other == value:
                continue
            if same_side and int(other) % 2 != side:
                continue
            if ("-" in self.numbers[self.number[i]]) == hyphen:
                return i
        return None

    def _street_candidate(self, street_id: int, number: str, postcode: str) -> Candidate:
        """The street's point nearest in number to `number`, or its middle point."""
        start, end = int(self.street_start[street_id]), int(self.street_start[street_id + 1])
        rows = np.arange(start, end)
        code = self.postcode_code.get(postcode) if postcode else None
        if code is not None:
            same_zip = rows[self.postcode[start:end] == code]
            rows = same_zip if len(same_zip) else rows
        value = number_value(number) if number else None
        values = self.value[rows]
        if value is not None and not np.isnan(values).all():
            row = int(rows[np.nanargmin(np.abs(values - value))])
        else:
            row = int(rows[len(rows) // 2])
        found = self._postcode(row)
        head = (
            f"{number} {self.street_label[street_id]}" if number else self.street_label[street_id]
        )
        return Candidate(
            lat=float(self.lat[row]),
            long=float(self.long[row]),
            address=self._display(head, street_id, found),
            confidence=(0.4 if number else 0.5) * _zip_factor(found, postcode),
            match=STREET,
            city=self.street_city[street_id],
            postcode=found,
        )

    def _row_candidate(
        self, row: int, confidence: float, distance: float | None = None
    ) -> Candidate:
        street_id = int(self.street[row])
        number = self.numbers[self.number[row]]
        postcode = self._postcode(row)
        return Candidate(
            lat=float(self.lat[row]),
            long=float(self.long[row]),
            address=self._display(f"{number} {self.street_label[street_id]}", street_id, postcode),
            confidence=confidence,
            match=ADDRESS,
            address_id=self.source_id[row],
            city=self.street_city[street_id],
            postcode=postcode,
            distance_m=distance,
        )

    def _postcode(self, row: int) -> str:
        return self.postcodes[self.postcode[row]]

    def _display(self, head: str, street_id: int, postcode: str) -> str:
        """ "1382 Dumont Avenue, Brooklyn, NY 11208"."""
        tail = " ".join(p for p in (self.state, postcode) if p)
        return ", ".join(p for p in (head, self.street_city[street_id], tail) if p)

    # Intersections.

    def _crossing_keys(self, text: str) -> list[tuple[str, float]]:
        """The known corners' streets `text` may mean, with how sure."""
        key = normalise_street(text)
        if key in self.crossing_forms:
            return [(k, 1.0 if k == key else 0.95) for k in self.crossing_forms[key]]
        if len(key) < 4 or not self.crossing_form_list:
            return []
        close = process.extract(
            key, self.crossing_form_list, scorer=fuzz.ratio, score_cutoff=85, limit=3
        )
        return [
            (k, 0.9 * score / 100) for form, score, _ in close for k in self.crossing_forms[form]
        ]

    def _known_crossings(self, query: Query) -> list[Candidate]:
        cities, soft = self._city_hint(query)
        found = []
        for key1, sure1 in self._crossing_keys(query.streets[0]):
            for key2, sure2 in self._crossing_keys(query.streets[1]):
                pair = (min(key1, key2), max(key1, key2))
                for lat, long, label, city in self.crossings.get(pair, []):
                    confidence = 0.97 * sure1 * sure2
                    if cities and city not in cities:
                        confidence *= 0.9 if soft else 0.6
                    tail = ", ".join(p for p in (city, self.state) if p)
                    found.append(
                        Candidate(
                            lat=lat,
                            long=long,
                            address=f"{label}, {tail}" if tail else label,
                            confidence=round(confidence, 3),
                            match=INTERSECTION,
                            city=city,
                        )
                    )
        return found

    def _intersections(self, query: Query) -> list[Candidate]:
        hint = self._city_hint(query)
        first = self._streets(query.streets[0], hint)[:4]
        second = self._streets(query.streets[1], hint)[:4]
        found = []
        for a, score_a in first:
            for b, score_b in second:
                if a == b or self.street_city[a] != self.street_city[b]:
                    continue
                candidate = self._meeting_point(a, b)
                if candidate:
                    confidence = candidate.confidence * score_a * score_b
                    candidate.confidence = round(
                        confidence * _zip_factor(candidate.postcode, query.postcode), 3
                    )
                    found.append(candidate)
        return found

    def _meeting_point(self, a: int, b: int) -> Candidate | None:
        """Where streets a and b meet: the two lines fitted through each street's points near
        their closest pair of points, crossed; the midpoint of that pair when the lines are
        near parallel. None when the streets come no closer than INTERSECTION_MAX_M."""
        pa, pb = self._street_points(a), self._street_points(b)
        lat0, long0 = float(pa[:, 0].mean()), float(pa[:, 1].mean())
        xa, xb = _local_metres(pa, lat0, long0), _local_metres(pb, lat0, long0)
        xa_near = xa[_within_box(xa, xb, INTERSECTION_MAX_M)]
        xb_near = xb[_within_box(xb, xa, INTERSECTION_MAX_M)]
        if not len(xa_near) or not len(xb_near):
            return None
        i, j, distance = _closest_pair(xa_near, xb_near)
        if distance > INTERSECTION_MAX_M:
            return None
        middle = (xa_near[i] + xb_near[j]) / 2
        crossing, parallel = _line_crossing(xa_near, xb_near, middle)
        if parallel:
            # Neighbouring parallel streets (Dumont and Livonia) come close but never meet.
            return None
        point = crossing if crossing is not None else middle
        lat = lat0 + point[1] / METRES_PER_DEG_LAT
        long = long0 + point[0] / (METRES_PER_DEG_LONG_EQUATOR * math.cos(math.radians(lat0)))
        confidence = 0.9 if distance <= 60 else 0.9 - 0.4 * (distance - 60) / 140
        if crossing is None:
            confidence *= 0.8
        near_row = self._nearest_row(lat, long)
        postcode = self._postcode(near_row[0]) if near_row else ""
        head = f"{self.street_label[a]} & {self.street_label[b]}"
        return Candidate(
            lat=float(lat),
            long=float(long),
            address=self._display(head, a, postcode),
            confidence=confidence,
            match=INTERSECTION,
            city=self.street_city[a],
            postcode=postcode,
        )

    def _street_points(self, street_id: int) -> npt.NDArray[np.float64]:
        start, end = int(self.street_start[street_id]), int(self.street_start[street_id + 1])
        return np.column_stack((self.lat[start:end], self.long[start:end]))

    # Places.

    def _places(self, query: Query) -> list[Candidate]:
        found: dict[int, float] = {}
        for text in {query.streets[0], " ".join(query.streets), query.text}:
            key = _name_key(text)
            if not key:
                continue
            if key in self.place_keys:
                found[self.place_keys[key]] = 0.95
                continue
            if len(key) < 4:
                continue
            for place, score in self._place_prefixes(key):
                found[place] = max(found.get(place, 0.0), score)
            for name, score, _ in process.extract(
                key, self.place_key_list, scorer=fuzz.ratio, limit=3, score_cutoff=85
            ):
                place = self.place_keys[name]
                found[place] = max(found.get(place, 0.0), 0.9 * score / 100)
        return [self._place_candidate(place, score) for place, score in found.items()]

    def _place_prefixes(self, key: str) -> list[tuple[int, float]]:
        """Places whose name starts with the whole words of `key` ("GRAND CENTRAL" for
        "Grand Central Terminal"), scored by how much of the name was given."""
        found = []
        i = bisect.bisect_left(self.place_key_list_sorted, key)
        while i < len(self.place_key_list_sorted):
            name = self.place_key_list_sorted[i]
            if not name.startswith(key):
                break
            if name[len(key) : len(key) + 1] == " ":
                found.append((self.place_keys[name], 0.7 + 0.2 * len(key) / len(name)))
            i += 1
        return found

    def _place_candidate(self, place: int, confidence: float) -> Candidate:
        return Candidate(
            lat=self.place_lat[place],
            long=self.place_long[place],
            address=self.place_name[place],
            confidence=round(confidence, 3),
            match=PLACE,
        )

    # Reverse geocoding.

    def reverse(self, lat: float, long: float) -> Candidate | None:
        """The nearest address point, with its distance; None when the index is empty."""
        nearest = self._nearest_row(float(lat), float(long))
        if nearest is None:
            return None
        row, distance = nearest
        confidence = 1.0 if distance <= 25 else max(0.1, 1.0 - (distance - 25) / 500)
        return self._row_candidate(row, round(confidence, 3), round(distance, 1))

    def _nearest_row(self, lat: float, long: float) -> tuple[int, float] | None:
        """The nearest row and its distance in metres. Searches grid rings outwards until no
        unseen cell can hold anything nearer; far from every address, a latitude band that
        widens until it holds something. Small indexes are searched whole."""
        if not len(self.lat) or not (math.isfinite(lat) and math.isfinite(long)):
            return None
        if len(self.lat) <= BRUTE_FORCE_ROWS:
            return self._nearest_among(np.arange(len(self.lat)), lat, long)
        centre = math.floor(lat / CELL_DEG), math.floor(long / CELL_DEG)
        cell_m = CELL_DEG * METRES_PER_DEG_LONG_EQUATOR * math.cos(math.radians(lat))
        cell_m = min(cell_m, CELL_DEG * METRES_PER_DEG_LAT)
        best: tuple[int, float] | None = None
        for ring in range(MAX_RINGS):
            rows = self._ring_rows(centre, ring)
            if len(rows):
                found = self._nearest_among(rows, lat, long)
                best = found if best is None or found[1] < best[1] else best
            if best is not None and best[1] <= ring * cell_m:
                return best
        radius = best[1] if best is not None else MAX_RINGS * cell_m
        while True:
            rows = self._box_rows(lat, long, radius)
            if len(rows):
                found = self._nearest_among(rows, lat, long)
                if found[1] <= radius:
                    return found
                # Everything within found's distance is inside a box that wide.
                radius = found[1]
            else:
                radius *= 4

    def _nearest_among(
        self, rows: npt.NDArray[np.integer], lat: float, long: float
    ) -> tuple[int, float]:
        distances = self._distances(rows, lat, long)
        k = int(np.argmin(distances))
        return int(rows[k]), float(distances[k])

    def _box_rows(self, lat: float, long: float, radius: float) -> npt.NDArray[np.int32]:
        """Rows within `radius` metres north, south, east and west of the point."""
        d_lat, d_long = degrees_around(lat, radius)
        lo = int(np.searchsorted(self.lat_sorted, lat - d_lat, "left"))
        hi = int(np.searchsorted(self.lat_sorted, lat + d_lat, "right"))
        rows = self.lat_order[lo:hi]
        return rows[np.abs(self.long[rows] - long) <= d_long]

    def _ring_rows(self, centre: tuple[int, int], ring: int) -> npt.NDArray[np.int32]:
        """Rows in the cells exactly `ring` cells from `centre` (a square's outline)."""
        span = np.arange(-ring, ring + 1)
        if ring == 0:
            d_row = d_col = np.zeros(1, dtype=np.int64)
        else:
            edge, inner = np.full(len(span), ring), span[1:-1]
            side = np.full(len(inner), ring)
            d_row = np.concatenate((-edge, edge, inner, inner))
            d_col = np.concatenate((span, span, -side, side))
        codes = (centre[0] + d_row) * (1 << 20) + (centre[1] + d_col) + (1 << 19)
        at = np.searchsorted(self.grid_cells, codes)
        inside = at < len(self.grid_cells)
        hits = at[inside][self.grid_cells[at[inside]] == codes[inside]]
        if not len(hits):
            return np.zeros(0, dtype=np.int32)
        return np.concatenate(
            [self.grid_rows[self.grid_start[h] : self.grid_start[h + 1]] for h in hits.tolist()]
        )

    def _distances(
        self, rows: npt.NDArray[np.integer], lat: float, long: float
    ) -> npt.NDArray[np.float64]:
        return fast_metres(lat, long, self.lat[rows], self.long[rows])

    # What is in a box (the map's own base, city311.geo.around).

    def rows_within(
        self, west: float, south: float, east: float, north: float
    ) -> npt.NDArray[np.int32]:
        """The address rows inside the box: a latitude band, then longitudes."""
        lo = int(np.searchsorted(self.lat_sorted, south, "left"))
        hi = int(np.searchsorted(self.lat_sorted, north, "right"))
        rows = self.lat_order[lo:hi]
        return rows[(self.long[rows] >= west) & (self.long[rows] <= east)]

    def places_within(
        self, west: float, south: float, east: float, north: float
    ) -> list[tuple[str, float, float]]:
        """The named places inside the box, as (name, lat, long)."""
        return [
            (name, lat, long)
            for name, lat, long in zip(
                self.place_name, self.place_lat, self.place_long, strict=True
            )
            if south <= lat <= north and west <= long <= east
        ]

    # Autocomplete.

    def autocomplete(self, prefix: str, *, limit: int = 8) -> list[Candidate]:
        """Suggestions for what a person has typed so far, best first. Never raises."""
        try:
            return self._autocomplete(prefix, limit)
        except Exception:
            logger.exception("autocomplete %r failed", str(prefix)[:MAX_INPUT])
            return []

    def _autocomplete(self, prefix: str, limit: int) -> list[Candidate]:
        text = " ".join(_NOISE.sub(" ", str(prefix)[:MAX_INPUT].upper().replace(".", " ")).split())
        # "1382 Dumont Av, Bronx": the street before the place, the place a filter.
        text, _, place = (p.strip() for p in text.partition(","))
        if not place:
            text, place = self._peel_city(text)
        if len(text) < 2:
            return []
        text = _QUEENS_SPACES.sub(r"\1-\2", text)
        number, rest = "", text
        match = _HOUSE.match(text)
        if match:
            number, rest = match.group(1), match.group(2)
        found: list[Candidate] = []
        for street_id in self._streets_starting(rest, limit * 3):
            if number:
                # Only numbers that can be placed: a suggestion is something to pick.
                rows = self._rows_for_number(street_id, normalise_number(number))
                placed = self._row_candidate(rows[0], 0.9) if rows else None
                placed = placed or self._interpolate(street_id, normalise_number(number), "")
                if placed is None:
                    continue
                found.append(placed)
            else:
                found.append(self._street_candidate(street_id, "", ""))
            if len(found) >= limit:
                break
        if not number:
            found += self._places_starting(text, limit)
            found.sort(key=lambda c: -c.confidence)
        parts = self._city_hint(Query("", [], place, "", place))[0] if place else set()
        if parts:
            found = [c for c in found if c.city in parts or not c.city]
        return _unique(found)[:limit]

    def _streets_starting(self, text: str, limit: int) -> list[int]:
        """Street ids whose key, or a word of it onwards, starts with `text` (normalised;
        the last, unfinished word also as typed). Whole-key matches first, then the streets
        with more points."""
        words = text.split()
        prefixes = {normalise_street(text)}
        if len(words) > 1:
            prefixes.add((normalise_street(" ".join(words[:-1])) + " " + words[-1]).strip())
        else:
            prefixes.add(words[0])
        ranked: dict[int, tuple[int, int, str]] = {}
        for p in prefixes - {""}:
            i = bisect.bisect_left(self.suffixes, p)
            scanned = 0
            while i < len(self.suffixes) and self.suffixes[i].startswith(p) and scanned < 2000:
                street_id = self.suffix_street[i]
                whole = 0 if self.street_key[street_id].startswith(p) else 1
                size = int(self.street_start[street_id + 1] - self.street_start[street_id])
                rank = (whole, -size, self.street_key[street_id])
                ranked[street_id] = min(ranked.get(street_id, rank), rank)
                i += 1
                scanned += 1
        return sorted(ranked, key=lambda s: ranked[s])[:limit]

    def _places_starting(self, text: str, limit: int) -> list[Candidate]:
        key = _name_key(text)
        if len(key) < 3:
            return []
        found: dict[int, float] = {}
        i = bisect.bisect_left(self.place_suffixes, (key, -1))
        while i < len(self.place_suffixes) and self.place_suffixes[i][0].startswith(key):
            place = self.place_suffixes[i][1]
            whole = _name_key(self.place_name[place]).startswith(key)
            found[place] = max(found.get(place, 0.0), 0.6 if whole else 0.55)
            i += 1
            if len(found) >= limit:
                break
        return [self._place_candidate(place, score) for place, score in found.items()]


def _words(text: str) -> str:
    """A name as the parser sees it: upper case, punctuation as spaces, single spaces."""
    return " ".join(_NOISE.sub(" ", text.upper().replace(".", " ")).replace(",", " ").split())


def _split_number(text: str) -> tuple[str, str]:
    """("1382", "DUMONT AVE") from "1382 DUMONT AVE"; no number from "5 AVENUE", where the
    digits are the street's name."""
    text = _QUEENS_SPACES.sub(r"\1-\2", text)
    match = _HOUSE.match(text)
    if not match:
        return "", text
    rest = match.group(2)
    if normalise_street(rest) in STREET_TYPES:
        return "", text
    return match.group(1), rest


def _zip_factor(found: str, given: str) -> float:
    """A wrong ZIP lowers confidence; a missing one does not."""
    return 1.0 if not given or found == given else 0.85


def _unique(candidates: list[Candidate]) -> list[Candidate]:
    seen: set[tuple[bool, str]] = set()
    out = []
    for c in candidates:
        if (c.match == PLACE, c.address) not in seen:
            seen.add((c.match == PLACE, c.address))
            out.append(c)
    return out


def _best(candidates: list[Candidate], limit: int) -> list[Candidate]:
    ranked = sorted(candidates, key=lambda c: -c.confidence)
    return [c for c in _unique(ranked) if c.confidence >= 0.2][: max(0, limit)]


def _local_metres(
    points: npt.NDArray[np.float64], lat0: float, long0: float
) -> npt.NDArray[np.float64]:
    """(lat, long) rows as (x, y) metres east and north of (lat0, long0)."""
    x = (points[:, 1] - long0) * METRES_PER_DEG_LONG_EQUATOR * math.cos(math.radians(lat0))
    y = (points[:, 0] - lat0) * METRES_PER_DEG_LAT
    return np.column_stack((x, y))


def _within_box(
    points: npt.NDArray[np.float64], other: npt.NDArray[np.float64], margin: float
) -> npt.NDArray[np.bool_]:
    low, high = other.min(axis=0) - margin, other.max(axis=0) + margin
    return np.all((points >= low) & (points <= high), axis=1)


def _closest_pair(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> tuple[int, int, float]:
    """Indexes of the closest a-b pair and their distance, in chunks to bound memory."""
    best = (0, 0, math.inf)
    for start in range(0, len(a), 512):
        chunk = a[start : start + 512]
        d = np.hypot(chunk[:, None, 0] - b[None, :, 0], chunk[:, None, 1] - b[None, :, 1])
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        if d[i, j] < best[2]:
            best = (start + int(i), int(j), float(d[i, j]))
    return best


def _line_crossing(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], middle: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64] | None, bool]:
    """Where the lines through a's and b's points near `middle` cross, and whether the two
    are parallel. The point is None when either street has too few points near `middle` to
    draw a line, or the lines are parallel, or they cross far from `middle`."""
    lines = []
    for points in (a, b):
        near = points[np.hypot(*(points - middle).T) <= 150]
        if len(near) < 2 or np.ptp(near, axis=0).max() < 15:
            return None, False
        centre = near.mean(axis=0)
        # The main axis of the points: the street's direction.
        _, _, axes = np.linalg.svd(near - centre, full_matrices=False)
        lines.append((centre, axes[0]))
    (p, u), (q, v) = lines
    cross = u[0] * v[1] - u[1] * v[0]
    if abs(cross) < math.sin(math.radians(20)):
        return None, True
    t = ((q[0] - p[0]) * v[1] - (q[1] - p[1]) * v[0]) / cross
    point: npt.NDArray[np.float64] = p + t * u
    if np.hypot(*(point - middle)) > 100:
        return None, False
    return point, False


# One index per process, rebuilt when the database's dataset versions change.


def _index_from_database() -> AddressIndex:
    """Build the index from the current version's address points and all places."""
    from django.db.models import Max

    from city311.geo.models import AddressPoint, GeoDataset, Intersection, Place

    dataset = GeoDataset.objects.filter(name="addresses").first()
    current = dataset.version if dataset else 0
    # An import writes version current + 1 beside the current rows before flipping the
    # dataset, and deletes older ones after: read only the newest version not above current.
    # (Rows created without a version, as fixtures do, are version 0.)
    newest = AddressPoint.objects.filter(version__lte=current).aggregate(v=Max("version"))["v"]
    addresses = (
        AddressPoint.objects.filter(version=newest or 0)
        .values_list(
            "source_id", "number", "street", "street_key", "city", "postcode", "lat", "long"
        )
        .iterator(chunk_size=10_000)
    )
    places = Place.objects.values_list("name", "kind", "aliases", "lat", "long").iterator(
        chunk_size=10_000
    )
    crossings = Intersection.objects.values_list(
        "street1", "street2", "key1", "key2", "city", "lat", "long"
    ).iterator(chunk_size=10_000)
    return AddressIndex.build(addresses, places, rules=city_rules(), crossing_rows=crossings)


def city_rules() -> GeoRules:
    """The city's geocoder rules, from its profile (the pack's `geocoder` section)."""
    from city311.cities import profile

    city = profile.current()
    return GeoRules(
        states=city.states,
        state_names=city.state_names,
        aliases=tuple(sorted((a, part, soft) for a, (part, soft) in city.aliases.items())),
        outside=city.outside_names,
    )


@cache
def _cache() -> VersionedCache[AddressIndex]:
    # Created on first use so that importing this module (as the benchmarks do) needs no
    # configured Django.
    from city311.geo.datasets import VersionedCache

    return VersionedCache(("addresses", "places", "intersections"), _index_from_database)


def get_index() -> AddressIndex:
    """This process's index, rebuilt from the database when the "addresses" or "places"
    GeoDataset version has changed; the versions are re-read at most every
    CITY311_GEO_RECHECK_SECONDS seconds (default 10)."""
    cached = _cache()
    index = cached.get()
    if index.rules != city_rules():
        # The city's rules changed (an import, the admin): rebuild with them.
        cached.invalidate()
        index = cached.get()
    return index


def geocode(text: str, *, limit: int = 5) -> list[Candidate]:
    """Ranked candidates for a location as people write it; see AddressIndex.geocode."""
    return get_index().geocode(text, limit=limit)


def reverse(lat: float, long: float) -> Candidate | None:
    """The nearest address point; see AddressIndex.reverse."""
    return get_index().reverse(lat, long)


def autocomplete(prefix: str, *, limit: int = 8) -> list[Candidate]:
    """Suggestions as a person types; see AddressIndex.autocomplete."""
    return get_index().autocomplete(prefix, limit=limit)
