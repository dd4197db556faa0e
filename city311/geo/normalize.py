"""Canonical forms of street names and house numbers, so that "W 24th St", "west twenty-fourth
street" and NYC's own "WEST  24 STREET" all meet at one key: "WEST 24 STREET".

The street key is what the address import stores in `AddressPoint.street_key` and what the
geocoder matches on, so any change here needs the addresses re-imported.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Pre- and post-directionals (USPS Publication 28, C2).
DIRECTIONALS: dict[str, str] = {
    "N": "NORTH",
    "NO": "NORTH",
    "S": "SOUTH",
    "SO": "SOUTH",
    "E": "EAST",
    "W": "WEST",
    "NE": "NORTHEAST",
    "NW": "NORTHWEST",
    "SE": "SOUTHEAST",
    "SW": "SOUTHWEST",
}

# Street suffix abbreviations to the full word (USPS Publication 28, C1), the ones a city's
# streets actually use plus the common misspellings residents type.
_SUFFIXES: dict[str, tuple[str, ...]] = {
    "ALLEY": ("ALY", "ALLY", "ALLEE"),
    "ANNEX": ("ANX", "ANEX"),
    "ARCADE": ("ARC",),
    "AVENUE": ("AVE", "AV", "AVEN", "AVENU", "AVN", "AVNUE"),
    "BEACH": ("BCH",),
    "BOULEVARD": ("BLVD", "BOUL", "BOULV", "BLV"),
    "BRIDGE": ("BRG", "BRDGE"),
    "BROOK": ("BRK",),
    "BYPASS": ("BYP", "BYPA", "BYPS"),
    "CAUSEWAY": ("CSWY", "CAUSWA"),
    "CENTER": ("CTR", "CEN", "CENT", "CENTR", "CNTR", "CENTRE"),
    "CIRCLE": ("CIR", "CIRC", "CIRCL", "CRCL", "CRCLE"),
    "CLOSE": ("CLS",),
    "CONCOURSE": ("CONC", "CONCRS"),
    "COURT": ("CT", "CRT"),
    "COURTS": ("CTS",),
    "COVE": ("CV",),
    "CRESCENT": ("CRES", "CRSENT", "CRSNT"),
    "CROSSING": ("XING", "CRSSNG"),
    "DRIVE": ("DR", "DRIV", "DRV"),
    "ESTATE": ("EST",),
    "EXPRESSWAY": ("EXPY", "EXP", "EXPR", "EXPRESS", "EXPW"),
    "EXTENSION": ("EXT", "EXTN", "EXTNSN"),
    "FREEWAY": ("FWY", "FRWY", "FRWAY", "FREEWY"),
    "GARDEN": ("GDN", "GARDN", "GRDEN", "GRDN"),
    "GARDENS": ("GDNS", "GRDNS"),
    "GREEN": ("GRN",),
    "HARBOR": ("HBR", "HARB", "HARBR", "HRBOR"),
    "HEIGHTS": ("HTS", "HT"),
    "HIGHWAY": ("HWY", "HIGHWY", "HIWAY", "HIWY", "HWAY"),
    "HILL": ("HL",),
    "HILLS": ("HLS",),
    "ISLAND": ("IS", "ISLND"),
    "JUNCTION": ("JCT", "JCTION", "JCTN", "JUNCTN", "JUNCTON"),
    "LANDING": ("LNDG", "LNDNG"),
    "LANE": ("LN",),
    "LOOP": ("LP",),
    "MALL": ("ML",),
    "MANOR": ("MNR",),
    "MEWS": ("MWS",),
    "OVAL": ("OVL",),
    "PARK": ("PRK",),
    "PARKWAY": ("PKWY", "PKY", "PARKWY", "PKWAY"),
    "PATH": ("PTH",),
    "PIKE": ("PKE",),
    "PLACE": ("PL", "PLC"),
    "PLAZA": ("PLZ", "PLZA"),
    "POINT": ("PT",),
    "PROMENADE": ("PROM",),
    "ROAD": ("RD",),
    "ROW": ("RW",),
    "SLIP": ("SLP",),
    "SQUARE": ("SQ", "SQR", "SQRE", "SQU"),
    "STREET": ("ST", "STR", "STRT", "STRE"),
    "TERRACE": ("TER", "TERR", "TRCE"),
    "TRAIL": ("TRL", "TRLS"),
    "TURNPIKE": ("TPKE", "TRNPK", "TURNPK"),
    "VIADUCT": ("VIA", "VDCT", "VIADCT"),
    "VILLAGE": ("VLG", "VILL", "VILLG"),
    "VISTA": ("VIS", "VST", "VSTA"),
    "WALK": ("WLK",),
    "WAY": ("WY",),
}
SUFFIXES: dict[str, str] = {
    abbreviation: word
    for word, abbreviations in _SUFFIXES.items()
    for abbreviation in abbreviations
}
STREET_TYPES: frozenset[str] = frozenset(_SUFFIXES)

# A leading abbreviation followed by a name is a title, not a street type: "ST MARKS PLACE",
# "FT HAMILTON PARKWAY", "MT EDEN AVENUE", "DR M L KING JR BOULEVARD".
_LEADING_TITLES: dict[str, str] = {
    "ST": "SAINT",
    "STE": "SAINTE",
    "FT": "FORT",
    "MT": "MOUNT",
    "DR": "DOCTOR",
}

_UNITS: dict[str, int] = {
    "ONE": 1,
    "TWO": 2,
    "THREE": 3,
    "FOUR": 4,
    "FIVE": 5,
    "SIX": 6,
    "SEVEN": 7,
    "EIGHT": 8,
    "NINE": 9,
}
_TEENS_AND_TENS: dict[str, int] = {
    "TEN": 10,
    "ELEVEN": 11,
    "TWELVE": 12,
    "THIRTEEN": 13,
    "FOURTEEN": 14,
    "FIFTEEN": 15,
    "SIXTEEN": 16,
    "SEVENTEEN": 17,
    "EIGHTEEN": 18,
    "NINETEEN": 19,
    "TWENTY": 20,
    "THIRTY": 30,
    "FORTY": 40,
    "FIFTY": 50,
    "SIXTY": 60,
    "SEVENTY": 70,
    "EIGHTY": 80,
    "NINETY": 90,
}
_ORDINAL_WORDS: dict[str, int] = {
    "FIRST": 1,
    "SECOND": 2,
    "THIRD": 3,
    "FOURTH": 4,
    "FIFTH": 5,
    "SIXTH": 6,
    "SEVENTH": 7,
    "EIGHTH": 8,
    "NINTH": 9,
    "TENTH": 10,
    "ELEVENTH": 11,
    "TWELFTH": 12,
    "THIRTEENTH": 13,
    "FOURTEENTH": 14,
    "FIFTEENTH": 15,
    "SIXTEENTH": 16,
    "SEVENTEENTH": 17,
    "EIGHTEENTH": 18,
    "NINETEENTH": 19,
    "TWENTIETH": 20,
    "THIRTIETH": 30,
    "FORTIETH": 40,
    "FIFTIETH": 50,
    "SIXTIETH": 60,
    "SEVENTIETH": 70,
    "EIGHTIETH": 80,
    "NINETIETH": 90,
    "HUNDREDTH": 100,
}
_CARDINAL_WORDS: dict[str, int] = {**_UNITS, **_TEENS_AND_TENS, "HUNDRED": 100}

_ORDINAL_NUMBER = re.compile(r"^(\d+)(?:ST|ND|RD|TH|D)$")
# Apostrophes and dots join ("O'BRIEN", "ST."); every other non-alphanumeric separates.
_JOINING = re.compile("['.`\u2019]")
_SEPARATING = re.compile(r"[^0-9A-Z]+")


@lru_cache(maxsize=65536)
def normalise_street(text: str) -> str:
    """Return the canonical key of a street name.

    Uppercase, punctuation removed, whitespace collapsed; directionals, street types and
    leading titles (ST/FT/MT followed by a name) spelled out; ordinals as bare digits
    ("5TH", "FIFTH" -> "5"). NYC's own spellings ("WEST 187 STREET", "5 AVENUE") come back
    unchanged. Never raises; returns "" for text with no letters or digits.
    """
    if not text.isascii():
        # "Ávila" and "AVILA" are one street; letters with no ASCII form drop out.
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = _SEPARATING.sub(" ", _JOINING.sub("", text.upper())).split()
    words = _ordinals_to_digits(words)
    return " ".join(_expand(words))


def _ordinals_to_digits(words: list[str]) -> list[str]:
    """Replace ordinal numbers written in digits or words ("24TH", "TWENTY FOURTH",
    "ONE HUNDRED TWENTY FIFTH") with bare digits; cardinal words with no ordinal after them
    stay as they are ("ONE WORLD TRADE CENTER")."""
    out: list[str] = []
    i = 0
    while i < len(words):
        match = _ORDINAL_NUMBER.match(words[i])
        if match:
            out.append(str(int(match.group(1))))
            i += 1
            continue
        value, end = _ordinal_phrase(words, i)
        if end > i:
            out.append(str(value))
            i = end
        else:
            out.append(words[i])
            i += 1
    return out


def _ordinal_phrase(words: list[str], start: int) -> tuple[int, int]:
    """Read a run of number words from `start` that ends in an ordinal word.

    Return (value, end index); end == start when there is none."""
    total = 0
    i = start
    while i < len(words):
        word = words[i]
        if word in _ORDINAL_WORDS:
            ordinal = _ORDINAL_WORDS[word]
            if ordinal == 100:
                return max(total, 1) * 100, i + 1
            return total + ordinal, i + 1
        if word == "HUNDRED":
            total = max(total, 1) * 100
        elif word in _CARDINAL_WORDS:
            total += _CARDINAL_WORDS[word]
        elif word == "AND" and total:
            pass
        else:
            break
        i += 1
    return 0, start


def _expand(words: list[str]) -> list[str]:
    """Spell out titles, directionals and street types."""
    out: list[str] = []
    last = len(words) - 1
    for i, word in enumerate(words):
        if i == 0 and word in _LEADING_TITLES and last > 0 and words[1] not in SUFFIXES:
            out.append(_LEADING_TITLES[word])
        elif word in DIRECTIONALS and not _is_letter_name(words, i):
            out.append(DIRECTIONALS[word])
        elif word in SUFFIXES:
            out.append(SUFFIXES[word])
        else:
            out.append(word)
    return out


def _is_letter_name(words: list[str], i: int) -> bool:
    """Whether a lone letter is the street's name rather than a directional: Brooklyn's
    "AVENUE N", "AVENUE S" or "AVE W"."""
    return i > 0 and SUFFIXES.get(words[i - 1], words[i - 1]) == "AVENUE" and len(words[i]) == 1


_NUMBER_SPACES = re.compile(r"\s*-\s*")
_LETTER_SUFFIX = re.compile(r"^(\d+(?:-\d+)?)\s+([A-Z])$")
_NUMBER_PARTS = re.compile(r"^(\d+)(?:-(\d+))?\s*([A-Z])?(?:\s+1/2)?$")


def normalise_number(text: str) -> str:
    """Return a house number in canonical form: stripped, uppercase, whitespace collapsed,
    no spaces around a Queens hyphen ("100 - 26" -> "100-26") or before a letter
    ("12 a" -> "12A")."""
    number = " ".join(str(text).upper().split())
    number = _NUMBER_SPACES.sub("-", number)
    return _LETTER_SUFFIX.sub(r"\1\2", number)


def number_value(number: str) -> float | None:
    """Return a house number as a float that orders numbers along one street, or None when
    it is not a house number.

    "12" -> 12.0; a letter adds hundredths ("12A" -> 12.01, "12B" -> 12.02); a half adds
    0.5 ("12 1/2" -> 12.5); a Queens hyphenated number is block * 1000 + lot
    ("100-26" -> 100026.0), which is monotone along a street that uses that form throughout
    but not comparable with plain numbers.
    """
    match = _NUMBER_PARTS.match(normalise_number(number))
    if not match:
        return None
    block, lot, letter = match.groups()
    value = float(block) if lot is None else float(block) * 1000 + float(lot)
    if letter:
        value += (ord(letter) - 64) / 100
    if number.rstrip().endswith("1/2"):
        value += 0.5
    return value
